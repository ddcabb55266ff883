package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
)

// MaxAsyncPayload is the largest Event invocation payload: 1 MB.
const MaxAsyncPayload = 1 << 20

// maxClientContext bounds X-Amz-Client-Context (3,583 bytes of base64).
const maxClientContext = 3583

// Invocation types.
const (
	invokeSync   = "RequestResponse"
	invokeEvent  = "Event"
	invokeDryRun = "DryRun"
)

// invocationRequest is an Invoke call, read and checked.
type invocationRequest struct {
	ref           functionRef
	kind          string
	tail          bool
	clientContext string
	payload       []byte
}

// readInvocation reads the members of an Invoke call from its path,
// query, headers and body, checking each as Lambda does.
func (a *API) readInvocation(r *http.Request) (invocationRequest, error) {
	var in invocationRequest
	var qualifier *string
	if q, ok := r.URL.Query()["Qualifier"]; ok && len(q) > 0 {
		qualifier = &q[0]
	}
	var err error
	if in.ref, err = a.ref(r.PathValue("FunctionName"), qualifier); err != nil {
		return in, err
	}
	in.kind = r.Header.Get("X-Amz-Invocation-Type")
	switch in.kind {
	case "":
		in.kind = invokeSync
	case invokeSync, invokeEvent, invokeDryRun:
	default:
		return in, validation("invocationType", in.kind, "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		in.tail = in.kind == invokeSync
	default:
		return in, validation("logType", lt, "Member must satisfy enum value set: [None, Tail]")
	}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		decoded, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || len(cc) > maxClientContext || !json.Valid(decoded) {
			return in, invalidParameter("Client context must be a valid Base64-encoded JSON object of at most %d bytes.", maxClientContext)
		}
		in.clientContext = string(decoded)
	}
	if in.payload, err = io.ReadAll(r.Body); err != nil {
		return in, err
	}
	if in.kind == invokeEvent && len(in.payload) > MaxAsyncPayload {
		return in, requestTooLarge(MaxAsyncPayload)
	}
	if len(in.payload) == 0 {
		in.payload = []byte("{}")
	} else if !json.Valid(in.payload) {
		return in, invalidContent()
	}
	return in, nil
}

// Invoke: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
// A function that fails is still a 200, with X-Amz-Function-Error:
// Unhandled and the error document as the body.
func (a *API) invoke(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	in, err := a.readInvocation(r)
	if err != nil {
		return err
	}
	if err := a.authorize(ctx, "InvokeFunction", a.functionARN(in.ref.Name, in.ref.Qualifier)); err != nil {
		return err
	}
	res, err := a.resolve(ctx, in.ref)
	if err != nil {
		return err
	}
	if s := res.spec.State; s != StateActive {
		return notReady(s)
	}
	if in.kind == invokeDryRun {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	v := a.runnable(res)
	// The invocation's id is the call's x-amzn-RequestId, as in Lambda.
	req := Request{RequestID: awsjson.RequestID(ctx), Payload: in.payload, FunctionARN: res.arn, ClientContext: in.clientContext, Tail: in.tail}
	if in.kind == invokeEvent {
		if err := a.enqueue(ctx, v, req); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	result, err := a.runner.Invoke(ctx, v, req)
	if err != nil {
		return invokeError(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", res.spec.Version)
	if result.ErrorType != "" {
		h.Set("X-Amz-Function-Error", "Unhandled")
	}
	if in.tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(result.LogTail))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(result.Payload)
	return nil
}

// runnable is what the runner runs of a resolved version: with its
// function's reserved concurrency, and able to pull its image again (with
// the credentials of whoever set the code) when the engine lost it.
func (a *API) runnable(res resolved) Version {
	v := res.spec.version(res.fn.doc.Reserved)
	image, owner := res.spec.Pull, res.fn.doc.Owner
	v.Pull = func(ctx context.Context) error { return a.pull(ctx, image, owner) }
	return v
}

// invokeError is the API's form of the runner's refusal.
func invokeError(err error) error {
	var throttle *ThrottleError
	if errors.As(err, &throttle) {
		return throttled()
	}
	if errors.Is(err, ErrClosed) {
		return awserr.New(typeServiceException, http.StatusServiceUnavailable, "The Lambda service is shutting down.")
	}
	return err
}
