package lambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Payload format 2.0: how a function URL (and API Gateway's HTTP API)
// turns an HTTP request into an event and the function's result into the
// HTTP response
// (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html), so
// that one handler works behind both.

// urlEvent is a payload 2.0 event.
type urlEvent struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        urlContext        `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type urlContext struct {
	AccountID    string         `json:"accountId"`
	APIID        string         `json:"apiId"`
	Authorizer   *urlAuthorizer `json:"authorizer,omitempty"`
	DomainName   string         `json:"domainName"`
	DomainPrefix string         `json:"domainPrefix"`
	HTTP         urlHTTP        `json:"http"`
	RequestID    string         `json:"requestId"`
	RouteKey     string         `json:"routeKey"`
	Stage        string         `json:"stage"`
	Time         string         `json:"time"`
	TimeEpoch    int64          `json:"timeEpoch"`
}

type urlAuthorizer struct {
	IAM urlIAM `json:"iam"`
}

type urlIAM struct {
	AccessKey string `json:"accessKey"`
	AccountID string `json:"accountId"`
	CallerID  string `json:"callerId"`
	UserARN   string `json:"userArn"`
	UserID    string `json:"userId"`
}

type urlHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// urlRequest is what a function URL's event is made of: the request, its
// body, and who and where it reached.
type urlRequest struct {
	r         *http.Request
	body      []byte
	urlID     string
	account   string // "anonymous" for AuthType NONE
	requestID string
	at        time.Time
	iam       *urlIAM
}

// event makes the payload 2.0 event of a request: headers in lower case
// (repeated ones joined by commas) without the cookies, which come apart
// in cookies; query parameters likewise; the body as text when it is
// text, else base64.
func (u urlRequest) event() urlEvent {
	r := u.r
	e := urlEvent{
		Version: "2.0", RouteKey: "$default",
		RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{},
		RequestContext: urlContext{
			AccountID: u.account, APIID: u.urlID, DomainName: r.Host, DomainPrefix: u.urlID,
			HTTP:      urlHTTP{Method: r.Method, Path: r.URL.EscapedPath(), Protocol: r.Proto, SourceIP: sourceIP(r), UserAgent: r.UserAgent()},
			RequestID: u.requestID, RouteKey: "$default", Stage: "$default",
			Time: u.at.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: u.at.UnixMilli(),
		},
	}
	if u.iam != nil {
		e.RequestContext.Authorizer = &urlAuthorizer{IAM: *u.iam}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		name := strings.ToLower(k)
		if name == "cookie" {
			for _, c := range r.Header[k] {
				for part := range strings.SplitSeq(c, ";") {
					if part = strings.TrimSpace(part); part != "" {
						e.Cookies = append(e.Cookies, part)
					}
				}
			}
			continue
		}
		e.Headers[name] = strings.Join(r.Header[k], ",")
	}
	if r.Host != "" {
		e.Headers["host"] = r.Host
	}
	if q := r.URL.Query(); len(q) > 0 {
		e.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			e.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(u.body) > 0 {
		if textual(r.Header.Get("Content-Type")) && utf8.Valid(u.body) {
			e.Body = string(u.body)
		} else {
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(u.body), true
		}
	}
	return e
}

// textual reports whether a body of contentType goes into an event as
// text: text/*, JSON, XML and JavaScript; anything else (and no type) is
// base64.
func textual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || strings.HasSuffix(mt, "+xml") || mt == "application/javascript"
}

// sourceIP is the address the request came from.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// urlResponse is the HTTP response a function's result makes.
type urlResponse struct {
	status  int
	header  http.Header
	cookies []string
	body    []byte
}

// response turns a function's result into the HTTP response: an object
// with statusCode is the response it describes (headers, cookies, a body
// in base64 when isBase64Encoded); any other JSON is a 200 with that JSON
// as its body (a string's text, not its quotes). A result that is no JSON
// at all, or whose members have the wrong types, or base64 that does not
// decode, is the function's fault: 502, as Lambda answers.
func response(payload []byte) urlResponse {
	bad := urlResponse{status: http.StatusBadGateway, header: http.Header{"Content-Type": {"application/json"}},
		body: []byte(`{"Message":"Internal Server Error"}`)}
	var probe map[string]json.RawMessage
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &probe) == nil {
		if _, ok := probe["statusCode"]; ok {
			var out struct {
				StatusCode      int               `json:"statusCode"`
				Headers         map[string]string `json:"headers"`
				Cookies         []string          `json:"cookies"`
				Body            *string           `json:"body"`
				IsBase64Encoded bool              `json:"isBase64Encoded"`
			}
			if json.Unmarshal(trimmed, &out) != nil || out.StatusCode < 100 || out.StatusCode > 599 {
				return bad
			}
			res := urlResponse{status: out.StatusCode, header: http.Header{"Content-Type": {"application/json"}}, cookies: out.Cookies}
			for k, v := range out.Headers {
				if validHeader(k, v) {
					res.header.Set(k, v)
				}
			}
			if out.Body != nil {
				res.body = []byte(*out.Body)
				if out.IsBase64Encoded {
					b, err := base64.StdEncoding.DecodeString(*out.Body)
					if err != nil {
						return bad
					}
					res.body = b
				}
			}
			return res
		}
	}
	if !json.Valid(trimmed) {
		return bad
	}
	res := urlResponse{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: payload}
	var s string
	if len(trimmed) > 0 && trimmed[0] == '"' && json.Unmarshal(trimmed, &s) == nil {
		res.body = []byte(s)
	}
	return res
}

// validHeader reports whether a function's header may be sent: a token
// name and a value without control characters, and none of the headers
// the server owns.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	switch strings.ToLower(name) {
	case "content-length", "transfer-encoding", "connection", "trailer":
		return false
	}
	return true
}

// write sends the response.
func (res urlResponse) write(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range res.header {
		h[k] = vs
	}
	for _, c := range res.cookies {
		if validHeader("Set-Cookie", c) {
			h.Add("Set-Cookie", c)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	w.WriteHeader(res.status)
	w.Write(res.body)
}
