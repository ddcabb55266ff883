package lambda

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/launcher"
)

// Function URLs: an HTTP endpoint per function (or alias), which AWS
// gives a host of its own and berth a port of its own on loopback
// (launcher.lambda.urlHost), kept across restarts when it is free. Each
// request becomes a payload 2.0 event (payload.go) for a synchronous
// invocation; AuthType AWS_IAM wants a SigV4 signature for lambda and
// lambda:InvokeFunctionUrl.

// urlConfig is a function URL's configuration, in the function's
// document.
type urlConfig struct {
	ID       string    `json:"id"`
	Port     int       `json:"port"`
	AuthType string    `json:"authType"`
	Cors     *cors     `json:"cors,omitempty"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// cors is a function URL's CORS configuration, in Lambda's wire form.
type cors struct {
	AllowCredentials *bool    `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           *int     `json:"MaxAge,omitempty"`
}

// FunctionURLConfig is Lambda's description of a function URL.
type FunctionURLConfig struct {
	FunctionURL      string `json:"FunctionUrl"`
	FunctionArn      string `json:"FunctionArn"`
	AuthType         string `json:"AuthType"`
	Cors             *cors  `json:"Cors,omitempty"`
	CreationTime     string `json:"CreationTime"`
	LastModifiedTime string `json:"LastModifiedTime,omitempty"`
	InvokeMode       string `json:"InvokeMode"`
}

type urlInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Qualifier    *string `json:"-" query:"Qualifier"`
	AuthType     *string `json:"AuthType"`
	Cors         *cors   `json:"Cors"`
	InvokeMode   *string `json:"InvokeMode"`
}

type createdURL struct{ FunctionURLConfig }

func (createdURL) StatusCode() int { return http.StatusCreated }

// urlID is a function URL's id: 32 lower-case letters and digits, as AWS
// makes them.
func urlID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// describe renders a URL configuration.
func (a *API) describeURL(name, qualifier string, c *urlConfig, modified bool) FunctionURLConfig {
	out := FunctionURLConfig{
		FunctionURL: a.urlOf(c.Port), FunctionArn: a.functionARN(name, qualifier), AuthType: c.AuthType,
		Cors: c.Cors, CreationTime: lastModified(c.Created), InvokeMode: "BUFFERED",
	}
	if modified {
		out.LastModifiedTime = lastModified(c.Modified)
	}
	return out
}

// urlOf is the URL of the listener on port.
func (a *API) urlOf(port int) string {
	return "http://" + net.JoinHostPort(a.cfg.URLHost, strconv.Itoa(port)) + "/"
}

// urlTarget checks a URL operation's function and qualifier: the
// function itself, or one of its aliases (a URL never names a version).
func (a *API) urlTarget(ctx context.Context, action string, in *urlInput) (functionRef, error) {
	ref, err := a.ref(in.FunctionName, in.Qualifier)
	if err != nil {
		return ref, err
	}
	if err := a.authorize(ctx, action, a.functionARN(ref.Name, ref.Qualifier)); err != nil {
		return ref, err
	}
	if ref.Qualifier == latest {
		ref.Qualifier = ""
	}
	if ref.Qualifier != "" {
		if !validAlias(ref.Qualifier) {
			return ref, validation("qualifier", ref.Qualifier, `Member must satisfy regular expression pattern: (^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))`)
		}
		if _, err := a.alias(ctx, ref.Name, ref.Qualifier); err != nil {
			return ref, err
		}
	} else if _, err := a.load(ctx, ref.Name); err != nil {
		return ref, err
	}
	return ref, nil
}

// checkURLSettings validates AuthType and Cors as Lambda does.
func checkURLSettings(authType *string, c *cors, required bool) error {
	if authType == nil && required {
		return validation("authType", "null", "Member must not be null")
	}
	if authType != nil && *authType != "NONE" && *authType != "AWS_IAM" {
		return validation("authType", *authType, "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	if c != nil {
		if c.MaxAge != nil && (*c.MaxAge < 0 || *c.MaxAge > 86400) {
			return validation("cors.maxAge", strconv.Itoa(*c.MaxAge), "Member must have value between 0 and 86400")
		}
		for _, m := range c.AllowMethods {
			if m != "*" && !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}, strings.ToUpper(m)) {
				return validation("cors.allowMethods", m, "Member must be an HTTP method or *")
			}
		}
	}
	return nil
}

// CreateFunctionUrlConfig: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunctionUrlConfig.html
func (a *API) createFunctionURLConfig(ctx context.Context, in *urlInput) (*createdURL, error) {
	ref, err := a.urlTarget(ctx, "CreateFunctionUrlConfig", in)
	if err != nil {
		return nil, err
	}
	if err := checkURLSettings(in.AuthType, in.Cors, true); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.URLHost, "0"))
	if err != nil {
		return nil, fmt.Errorf("function URL listener: %w", err)
	}
	now := time.Now()
	c := &urlConfig{ID: urlID(), Port: ln.Addr().(*net.TCPAddr).Port, AuthType: *in.AuthType, Cors: in.Cors, Created: now, Modified: now}
	_, err = a.update(ctx, ref.Name, func(doc *functionDoc) error {
		if doc.URLs[ref.Qualifier] != nil {
			return conflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", a.functionARN(ref.Name, ref.Qualifier))
		}
		if doc.URLs == nil {
			doc.URLs = map[string]*urlConfig{}
		}
		doc.URLs[ref.Qualifier] = c
		return nil
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	a.urls.serve(ref.Name, ref.Qualifier, ln, a)
	return &createdURL{a.describeURL(ref.Name, ref.Qualifier, c, false)}, nil
}

// GetFunctionUrlConfig: https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionUrlConfig.html
func (a *API) getFunctionURLConfig(ctx context.Context, in *urlInput) (*FunctionURLConfig, error) {
	ref, err := a.urlTarget(ctx, "GetFunctionUrlConfig", in)
	if err != nil {
		return nil, err
	}
	l, err := a.load(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	c := l.doc.URLs[ref.Qualifier]
	if c == nil {
		return nil, notFound("The resource you requested does not exist.")
	}
	out := a.describeURL(ref.Name, ref.Qualifier, c, true)
	return &out, nil
}

// UpdateFunctionUrlConfig: https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionUrlConfig.html
func (a *API) updateFunctionURLConfig(ctx context.Context, in *urlInput) (*FunctionURLConfig, error) {
	ref, err := a.urlTarget(ctx, "UpdateFunctionUrlConfig", in)
	if err != nil {
		return nil, err
	}
	if err := checkURLSettings(in.AuthType, in.Cors, false); err != nil {
		return nil, err
	}
	var out FunctionURLConfig
	_, err = a.update(ctx, ref.Name, func(doc *functionDoc) error {
		c := doc.URLs[ref.Qualifier]
		if c == nil {
			return notFound("The resource you requested does not exist.")
		}
		if in.AuthType != nil {
			c.AuthType = *in.AuthType
		}
		if in.Cors != nil {
			c.Cors = in.Cors
		}
		c.Modified = time.Now()
		out = a.describeURL(ref.Name, ref.Qualifier, c, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteFunctionUrlConfig: https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunctionUrlConfig.html
func (a *API) deleteFunctionURLConfig(ctx context.Context, in *urlInput) (*noContent, error) {
	ref, err := a.urlTarget(ctx, "DeleteFunctionUrlConfig", in)
	if err != nil {
		return nil, err
	}
	_, err = a.update(ctx, ref.Name, func(doc *functionDoc) error {
		if doc.URLs[ref.Qualifier] == nil {
			return notFound("The resource you requested does not exist.")
		}
		delete(doc.URLs, ref.Qualifier)
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.urls.close(ref.Name, ref.Qualifier)
	return &noContent{}, nil
}

type listURLsInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Marker       *string `json:"-" query:"Marker"`
	MaxItems     *int    `json:"-" query:"MaxItems"`
}

type listURLsOutput struct {
	FunctionURLConfigs []FunctionURLConfig `json:"FunctionUrlConfigs"`
	NextMarker         *string             `json:"NextMarker,omitempty"`
}

// ListFunctionUrlConfigs: https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctionUrlConfigs.html
// A function has a handful of URLs at most; they come in one page.
func (a *API) listFunctionURLConfigs(ctx context.Context, in *listURLsInput) (*listURLsOutput, error) {
	ref, err := a.unqualified(ctx, "ListFunctionUrlConfigs", in.FunctionName)
	if err != nil {
		return nil, err
	}
	if _, err := maxItems(in.MaxItems, 50); err != nil {
		return nil, err
	}
	l, err := a.load(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	out := &listURLsOutput{FunctionURLConfigs: []FunctionURLConfig{}}
	for _, q := range slices.Sorted(maps.Keys(l.doc.URLs)) {
		out.FunctionURLConfigs = append(out.FunctionURLConfigs, a.describeURL(ref.Name, q, l.doc.URLs[q], true))
	}
	return out, nil
}

// urlServers are the function URLs' listeners.
type urlServers struct {
	mu      sync.Mutex
	servers map[urlKey]*http.Server
}

type urlKey struct{ function, qualifier string }

// serve serves the URL of function (and qualifier) on ln.
func (u *urlServers) serve(function, qualifier string, ln net.Listener, a *API) {
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serveURL(w, r, function, qualifier) }),
		ReadHeaderTimeout: 30 * time.Second,
	}
	u.mu.Lock()
	if u.servers == nil {
		u.servers = map[urlKey]*http.Server{}
	}
	if old := u.servers[urlKey{function, qualifier}]; old != nil {
		old.Close()
	}
	u.servers[urlKey{function, qualifier}] = srv
	u.mu.Unlock()
	go srv.Serve(ln)
}

// close stops the URL of function and qualifier; "*" as qualifier stops
// all of the function's, "*" as function every URL.
func (u *urlServers) close(function, qualifier string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, srv := range u.servers {
		if (function == "*" || k.function == function) && (qualifier == "*" || k.qualifier == qualifier) {
			srv.Close()
			delete(u.servers, k)
		}
	}
}

// reopenURL listens for the URL of function and qualifier on port, or on a
// new port when that is taken, which it records.
func (a *API) reopenURL(ctx context.Context, function, qualifier string, port int) {
	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.URLHost, strconv.Itoa(port)))
	if err != nil {
		if ln, err = net.Listen("tcp", net.JoinHostPort(a.cfg.URLHost, "0")); err != nil {
			a.cfg.Log.Warn("lambda: a function URL cannot listen", "function", function, "err", err)
			return
		}
		moved := ln.Addr().(*net.TCPAddr).Port
		a.cfg.Log.Warn("lambda: a function URL's port is taken; it moves", "function", function, "from", port, "to", moved)
		if _, err := a.update(ctx, function, func(doc *functionDoc) error {
			if c := doc.URLs[qualifier]; c != nil {
				c.Port = moved
			}
			return nil
		}); err != nil {
			ln.Close()
			a.cfg.Log.Warn("lambda: recording a function URL's port", "function", function, "err", err)
			return
		}
	}
	a.urls.serve(function, qualifier, ln, a)
}

// urlError answers a function URL request that reached no function, in
// the form AWS's front of function URLs does.
func urlError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Message": message})
	w.Write(b)
}

// serveURL serves one request to the URL of function and qualifier.
func (a *API) serveURL(w http.ResponseWriter, r *http.Request, function, qualifier string) {
	ctx := r.Context()
	l, err := a.load(ctx, function)
	if err != nil {
		urlError(w, http.StatusForbidden, "Forbidden")
		return
	}
	c := l.doc.URLs[qualifier]
	if c == nil {
		urlError(w, http.StatusForbidden, "Forbidden")
		return
	}
	if preflight(w, r, c.Cors) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		return
	}
	if len(body) > MaxPayload {
		urlError(w, http.StatusRequestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	req := urlRequest{r: r, body: body, urlID: c.ID, account: "anonymous", requestID: launcher.NewUUID(), at: time.Now()}
	arn := a.functionARN(function, qualifier)
	if c.AuthType == "AWS_IAM" {
		if ctx, err = a.authenticateURL(r, body, arn); err != nil {
			urlError(w, http.StatusForbidden, "Forbidden")
			return
		}
		caller := a.caller(ctx)
		req.account = a.cfg.AccountID
		req.iam = &urlIAM{AccessKey: caller.AccessKeyID, AccountID: a.cfg.AccountID, CallerID: caller.User, UserARN: caller.ARN, UserID: caller.User}
	}
	res, err := a.resolve(ctx, functionRef{Name: function, Qualifier: qualifier})
	if err != nil || res.spec.State != StateActive {
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	event, err := json.Marshal(req.event())
	if err != nil {
		urlError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("X-Amzn-RequestId", req.requestID)
	result, err := a.runner.Invoke(ctx, a.runnable(res), Request{RequestID: req.requestID, Payload: event, FunctionARN: arn})
	var throttle *ThrottleError
	switch {
	case errors.As(err, &throttle):
		urlError(w, http.StatusTooManyRequests, "Rate Exceeded.")
		return
	case err != nil:
		a.cfg.Log.Warn("lambda: a function URL's invocation", "function", function, "err", err)
		urlError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	case result.ErrorType != "":
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	out := response(result.Payload)
	allowOrigin(out.header, r, c.Cors)
	out.write(w)
}

// authenticateURL checks an AWS_IAM function URL's request: a SigV4
// signature for lambda, and lambda:InvokeFunctionUrl on the function.
func (a *API) authenticateURL(r *http.Request, body []byte, arn string) (context.Context, error) {
	if a.cfg.Authenticate == nil {
		return nil, awserr.Errorf(awserr.AccessDeniedException, "function URLs with AuthType AWS_IAM need authentication")
	}
	ctx, err := a.cfg.Authenticate(r, body)
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		ctx = r.Context()
	}
	return ctx, a.authorize(ctx, "InvokeFunctionUrl", arn)
}

// preflight answers a CORS preflight request when the URL has CORS
// configured, and reports whether it did.
func preflight(w http.ResponseWriter, r *http.Request, c *cors) bool {
	if c == nil || r.Method != http.MethodOptions || r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h := w.Header()
	if allowOrigin(h, r, c) {
		if len(c.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		}
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		}
		if c.MaxAge != nil {
			h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
		}
	}
	w.WriteHeader(http.StatusOK)
	return true
}

// allowOrigin sets the CORS headers of a response to a request from an
// allowed origin, and reports whether it was one.
func allowOrigin(h http.Header, r *http.Request, c *cors) bool {
	origin := r.Header.Get("Origin")
	if c == nil || origin == "" || (!slices.Contains(c.AllowOrigins, "*") && !slices.Contains(c.AllowOrigins, origin)) {
		return false
	}
	if slices.Contains(c.AllowOrigins, "*") && (c.AllowCredentials == nil || !*c.AllowCredentials) {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
	if c.AllowCredentials != nil && *c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	return true
}
