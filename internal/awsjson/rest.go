package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
)

// restContentType is the media type of REST-JSON bodies.
const restContentType = "application/json"

// RESTService is one REST-JSON API (Lambda, Batch), identified by its SigV4
// signing name: each operation is an http.ServeMux pattern with a method,
// such as "POST /2015-03-31/functions/{FunctionName}/invocations" or
// "POST /v1/submitjob". Register operations with [HandleREST] or
// [HandleRESTFunc], then the service on a [Front], which puts each route on
// the server's mux. Errors go through one writer: the X-Amzn-ErrorType
// header and the body [WithErrorBody] chooses.
type RESTService struct {
	settings
	routes []restRoute
}

// restRoute is one registered operation.
type restRoute struct {
	pattern   string // "GET /2015-03-31/functions/{FunctionName}"
	prefix    string // the path's first segment, "/2015-03-31/"
	operation string
	serve     func(ctx context.Context, w http.ResponseWriter, r *http.Request, body []byte) error
}

// NewRESTService returns a REST-JSON service whose requests are signed for
// signingName ("lambda", "batch").
func NewRESTService(signingName string, opts ...Option) *RESTService {
	s := &RESTService{settings: newSettings(signingName, opts)}
	if s.body == nil {
		s.body = jsonErrorBody
	}
	return s
}

// HandleREST registers fn as operation at pattern. The body (read whole up to
// the limit, and authenticated) is decoded as JSON into a new In (an empty
// body reads as {}); then each field of In tagged `uri:"Name"`,
// `query:"Name"` or `header:"Name"` is set from the path wildcard {Name},
// the query parameter or the header of that name, when the request has it
// (declare such fields `json:"-"`). They may be strings, integers, booleans
// or pointers to them. The output is sent as JSON with status 200, or the
// status Out's StatusCode() int method returns (204 sends no body); a nil
// *Out is sent as {}. HandleREST panics on a pattern without a method or on
// a field type it cannot bind, which are wiring bugs.
func HandleREST[In, Out any](svc *RESTService, pattern, operation string, fn func(ctx context.Context, in *In) (*Out, error)) {
	binds := bindings(reflect.TypeFor[In]())
	svc.add(pattern, operation, func(ctx context.Context, w http.ResponseWriter, r *http.Request, body []byte) error {
		in := new(In)
		if err := decode(body, in); err != nil {
			return err
		}
		if err := bind(r, reflect.ValueOf(in).Elem(), binds); err != nil {
			return err
		}
		out, err := result(fn(ctx, in))
		if err != nil {
			return err
		}
		return writeJSON(w, out)
	})
}

// HandleRESTFunc registers fn as operation at pattern, for operations whose
// request or response is not a JSON document (Lambda's Invoke takes and
// returns the function's raw payload). fn gets the request authenticated,
// with the principal in its context and its body replayable from the first
// byte; it writes the success response itself, or returns an error without
// having written anything, for the service's error writer.
func HandleRESTFunc(svc *RESTService, pattern, operation string, fn func(w http.ResponseWriter, r *http.Request) error) {
	svc.add(pattern, operation, func(ctx context.Context, w http.ResponseWriter, r *http.Request, body []byte) error {
		r = r.WithContext(ctx)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return fn(w, r)
	})
}

func (s *RESTService) add(pattern, operation string, serve func(context.Context, http.ResponseWriter, *http.Request, []byte) error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		panic(fmt.Sprintf("awsjson: REST pattern %q needs a method and a path", pattern))
	}
	segment, _, _ := strings.Cut(path[1:], "/")
	if segment == "" || strings.Contains(segment, "{") {
		panic(fmt.Sprintf("awsjson: REST pattern %q must begin with a fixed path segment", pattern))
	}
	s.routes = append(s.routes, restRoute{pattern: pattern, prefix: "/" + segment + "/", operation: operation, serve: serve})
}

// writeError writes err in the service's REST-JSON form.
func (s *RESTService) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	s.settings.writeError(ctx, w, err, restContentType, s.body, true)
}

// writeJSON sends a REST-JSON operation's output.
func writeJSON(w http.ResponseWriter, out any) error {
	status := http.StatusOK
	if sc, ok := out.(interface{ StatusCode() int }); ok {
		status = sc.StatusCode()
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	body, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("marshal output: %w", err)
	}
	w.Header().Set("Content-Type", restContentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// restHandler serves one route of a REST service.
type restHandler struct {
	svc          *RESTService
	route        restRoute
	authenticate Authenticator
}

func (h *restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := context.WithValue(begin(w, r), operationKey, h.route.operation)
	ctx, body, err := h.svc.admit(ctx, r, h.authenticate)
	if err == nil {
		err = h.route.serve(ctx, w, r, body)
	}
	if err != nil {
		h.svc.writeError(ctx, w, err)
	}
}

// unknownREST answers a path a REST service claims that none of its routes
// matches.
type unknownREST struct{ svc *RESTService }

func (u unknownREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := begin(w, r)
	u.svc.writeError(ctx, w, awserr.Errorf(awserr.UnknownOperationException, "No operation of %s matches this method and path.", u.svc.name))
}

// binding fills one field of an input from the request.
type binding struct {
	index []int
	from  string // "uri", "query" or "header"
	name  string
}

// bindings lists the fields of t bound from the path, query or headers.
func bindings(t reflect.Type) []binding {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []binding
	for _, f := range reflect.VisibleFields(t) {
		for _, from := range []string{"uri", "query", "header"} {
			name, ok := f.Tag.Lookup(from)
			if !ok {
				continue
			}
			if !bindable(f.Type) {
				panic(fmt.Sprintf("awsjson: %s.%s: cannot bind a %s from the %s", t, f.Name, f.Type, from))
			}
			out = append(out, binding{index: f.Index, from: from, name: name})
		}
	}
	return out
}

func bindable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// bind sets the bound fields of in that r has a value for.
func bind(r *http.Request, in reflect.Value, binds []binding) error {
	for _, b := range binds {
		var raw string
		switch b.from {
		case "uri":
			raw = r.PathValue(b.name)
			if raw == "" {
				continue
			}
		case "query":
			vs, ok := r.URL.Query()[b.name]
			if !ok || len(vs) == 0 {
				continue
			}
			raw = vs[0]
		case "header":
			vs := r.Header.Values(b.name)
			if len(vs) == 0 {
				continue
			}
			raw = vs[0]
		}
		if err := setScalar(in.FieldByIndex(b.index), raw); err != nil {
			return serialization("The %s member %s is not valid: %q.", b.from, b.name, raw)
		}
	}
	return nil
}

// setScalar parses raw into v, a scalar or a pointer to one.
func setScalar(v reflect.Value, raw string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := setScalar(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	default: // the integer kinds bindable allows
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	}
	return nil
}
