package awsjson

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
)

// Front is berth's one AWS front door: every AWS API berth serves registers
// on it, and it picks the service of each request by its shape, as AWS's
// own endpoints do:
//
//   - AWS JSON 1.1 services ([Service]: ECR, ECS, CloudWatch Logs) share
//     "POST /" and are told apart by the X-Amz-Target prefix;
//   - REST-JSON services ([RESTService]: Lambda, Batch) are told apart by
//     their paths ("/2015-03-31/functions/...", "POST /v1/...").
//
// Each request is authenticated for its own service's signing name, so a
// signature made for one service is refused by every other. A request that
// names no registered service gets UnknownOperationException in the AWS
// form of its protocol, never an HTML 404.
type Front struct {
	mux          *http.ServeMux
	authenticate func(signingName string) Authenticator
	log          *slog.Logger
	json         map[string]jsonService  // by target prefix
	paths        map[string]*RESTService // REST path prefixes claimed, by the first claimant
	passed       map[string]http.Handler // JSON target prefixes handed on (see Pass)
}

// jsonService is a registered JSON service with its authenticator.
type jsonService struct {
	svc          *Service
	authenticate Authenticator
}

// NewFront returns a front door that registers its routes on mux: "/" for
// the JSON services at once, and each REST service's routes as it is added.
// authenticate returns the authenticator of requests signed for a signing
// name (auth.Authority's AuthenticateAWS); nil serves every request
// unauthenticated, for tests.
func NewFront(mux *http.ServeMux, authenticate func(signingName string) Authenticator, log *slog.Logger) *Front {
	if log == nil {
		log = slog.Default()
	}
	f := &Front{mux: mux, authenticate: authenticate, log: log, json: map[string]jsonService{}, paths: map[string]*RESTService{}, passed: map[string]http.Handler{}}
	mux.Handle("/{$}", jsonRouter{f})
	return f
}

// authenticator is the authenticator for signingName, nil without one.
func (f *Front) authenticator(signingName string) Authenticator {
	if f.authenticate == nil {
		return nil
	}
	return f.authenticate(signingName)
}

// JSON adds an AWS JSON 1.1 service. It panics if another service has the
// same target prefix, which is a wiring bug.
func (f *Front) JSON(svc *Service) {
	if _, dup := f.json[svc.prefix]; dup {
		panic(fmt.Sprintf("awsjson: target prefix %s registered twice", svc.prefix))
	}
	f.json[svc.prefix] = jsonService{svc: svc, authenticate: f.authenticator(svc.name)}
}

// REST adds a REST-JSON service: each of its routes goes on the mux under
// its own pattern, and the first segment of each route's path ("/v1/",
// "/2015-03-31/") is claimed for the service, so a request there that no
// route matches gets UnknownOperationException in the service's error
// form. A prefix two services share is answered by the first.
func (f *Front) REST(svc *RESTService) {
	authenticate := f.authenticator(svc.name)
	for _, rt := range svc.routes {
		f.mux.Handle(rt.pattern, &restHandler{svc: svc, route: rt, authenticate: authenticate})
		if f.paths[rt.prefix] == nil {
			f.paths[rt.prefix] = svc
			f.mux.Handle(rt.prefix, unknownREST{svc})
		}
	}
}

// jsonRouter serves "POST /": it picks the JSON service by X-Amz-Target.
type jsonRouter struct{ f *Front }

// RouteName names every AWS JSON call "aws" in metrics.
func (jsonRouter) RouteName(*http.Request) string { return "aws" }

func (j jsonRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := begin(w, r)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		j.refuse(ctx, w, awserr.New(awserr.UnknownOperationException, http.StatusMethodNotAllowed, "Only POST is supported."))
		return
	}
	prefix, action, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if h := j.f.passed[prefix]; h != nil {
		h.ServeHTTP(w, r)
		return
	}
	s, ok := j.f.json[prefix]
	if !ok || action == "" {
		j.refuse(ctx, w, awserr.Errorf(awserr.UnknownOperationException, "The X-Amz-Target header does not name an operation berth serves."))
		return
	}
	s.svc.serve(ctx, w, r, action, s.authenticate)
}

// refuse answers a request that reached no service: always a client error.
func (j jsonRouter) refuse(ctx context.Context, w http.ResponseWriter, err *awserr.Error) {
	s := settings{log: j.f.log, fault: awserr.ServerException}
	s.writeError(ctx, w, err, ContentType, jsonErrorBody, false)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	operationKey
	baseURLKey
)

// begin gives the request its x-amzn-RequestId (on the response and in the
// context) and records the URL the client reached.
func begin(w http.ResponseWriter, r *http.Request) context.Context {
	id := newRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	ctx := context.WithValue(r.Context(), requestIDKey, id)
	return context.WithValue(ctx, baseURLKey, base)
}

// RequestID returns the x-amzn-RequestId of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Operation returns the action name (e.g. "CreateRepository") of the request
// ctx belongs to, or "". It is set before the authentication hook runs, so
// authorization can map it to an IAM action such as ecr:CreateRepository.
func Operation(ctx context.Context) string {
	op, _ := ctx.Value(operationKey).(string)
	return op
}

// BaseURL returns the scheme and host the client used to reach berth
// ("http://localhost:5000"), for the request ctx belongs to; "" outside one.
func BaseURL(ctx context.Context) string {
	s, _ := ctx.Value(baseURLKey).(string)
	return s
}

// newRequestID returns a random UUID (version 4) in its usual text form.
func newRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
