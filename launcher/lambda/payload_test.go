package lambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// An HTTP request becomes the event aws-lambda-go's
// LambdaFunctionURLRequest reads.
func TestURLEvent(t *testing.T) {
	r := httptest.NewRequest("POST", "http://127.0.0.1:9000/orders/42?b=2&a=1&a=3", strings.NewReader(`{"n":1}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Many", "one")
	r.Header.Add("X-Many", "two")
	r.Header.Add("Cookie", "session=abc; theme=dark")
	r.Header.Set("User-Agent", "curl/8")
	r.RemoteAddr = "127.0.0.1:5555"
	at := time.Date(2024, 3, 12, 19, 3, 58, 0, time.UTC)
	e := urlRequest{r: r, body: []byte(`{"n":1}`), urlID: "abc123", account: "anonymous", requestID: "req-1", at: at}.event()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/orders/42", RawQueryString: "b=2&a=1&a=3",
		Cookies:               []string{"session=abc", "theme=dark"},
		Headers:               map[string]string{"content-type": "application/json", "x-many": "one,two", "user-agent": "curl/8", "host": "127.0.0.1:9000"},
		QueryStringParameters: map[string]string{"a": "1,3", "b": "2"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "anonymous", RequestID: "req-1", APIID: "abc123", DomainName: "127.0.0.1:9000", DomainPrefix: "abc123",
			Time: "12/Mar/2024:19:03:58 +0000", TimeEpoch: at.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/orders/42", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "curl/8"},
		},
		Body: `{"n":1}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event =\n%+v\nwant\n%+v", got, want)
	}
	// A binary body travels in base64.
	bin := []byte{0, 1, 2, 0xff}
	r = httptest.NewRequest("PUT", "/", bytes.NewReader(bin))
	r.Header.Set("Content-Type", "application/octet-stream")
	e = urlRequest{r: r, body: bin}.event()
	if !e.IsBase64Encoded || e.Body != base64.StdEncoding.EncodeToString(bin) {
		t.Errorf("binary body = %q, base64 %v", e.Body, e.IsBase64Encoded)
	}
}

// A function's result becomes the HTTP response.
func TestURLResponse(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		status        int
		header        http.Header
		cookies       []string
		body          string
	}{
		{"described", `{"statusCode":418,"headers":{"X-Fn":"t","Content-Type":"text/plain"},"cookies":["a=1","b=2; Path=/"],"body":"teapot"}`,
			418, http.Header{"X-Fn": {"t"}, "Content-Type": {"text/plain"}}, []string{"a=1", "b=2; Path=/"}, "teapot"},
		{"base64", `{"statusCode":200,"body":"AAEC","isBase64Encoded":true}`, 200, http.Header{"Content-Type": {"application/json"}}, nil, "\x00\x01\x02"},
		{"no status code", `{"hello":"world"}`, 200, http.Header{"Content-Type": {"application/json"}}, nil, `{"hello":"world"}`},
		{"a string", `"Hello (world)"`, 200, http.Header{"Content-Type": {"application/json"}}, nil, "Hello (world)"},
		{"a number", `42`, 200, http.Header{"Content-Type": {"application/json"}}, nil, "42"},
		{"not JSON", `nope`, 502, http.Header{"Content-Type": {"application/json"}}, nil, `{"Message":"Internal Server Error"}`},
		{"bad status", `{"statusCode":99}`, 502, http.Header{"Content-Type": {"application/json"}}, nil, `{"Message":"Internal Server Error"}`},
		{"bad base64", `{"statusCode":200,"body":"%%%","isBase64Encoded":true}`, 502, http.Header{"Content-Type": {"application/json"}}, nil, `{"Message":"Internal Server Error"}`},
		{"forbidden headers", `{"statusCode":200,"headers":{"Content-Length":"9","Bad Name":"x","X-Ok":"line\nbreak"}}`,
			200, http.Header{"Content-Type": {"application/json"}}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := response([]byte(tc.payload))
			if res.status != tc.status || !reflect.DeepEqual(res.header, tc.header) || !reflect.DeepEqual(res.cookies, tc.cookies) || string(res.body) != tc.body {
				t.Errorf("response = %d %v %v %q; want %d %v %v %q", res.status, res.header, res.cookies, res.body, tc.status, tc.header, tc.cookies, tc.body)
			}
			w := httptest.NewRecorder()
			res.write(w)
			if w.Code != tc.status || w.Body.String() != tc.body || len(w.Result().Cookies()) != len(tc.cookies) {
				t.Errorf("written = %d %q %v", w.Code, w.Body, w.Header())
			}
		})
	}
}

func FuzzURLEvent(f *testing.F) {
	f.Add("POST", "/a/b?x=1&x=2", "application/json", "session=1; b=2", []byte(`{"a":1}`))
	f.Add("GET", "/%20?", "", "", []byte{})
	f.Add("PUT", "/", "image/png", ";;", []byte{0xff, 0})
	f.Fuzz(func(t *testing.T, method, target, contentType, cookie string, body []byte) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n#") || strings.ContainsAny(method, " \r\n()<>@,;:\\\"/[]?={}") || method == "" {
			return
		}
		r, err := http.NewRequest(method, "http://127.0.0.1:1"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		if validHeader("Content-Type", contentType) {
			r.Header.Set("Content-Type", contentType)
		}
		if validHeader("Cookie", cookie) {
			r.Header.Set("Cookie", cookie)
		}
		e := urlRequest{r: r, body: body}.event()
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back events.LambdaFunctionURLRequest
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		// The body comes through whole, as text or as base64.
		got := []byte(back.Body)
		if back.IsBase64Encoded {
			if got, err = base64.StdEncoding.DecodeString(back.Body); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("body %q came through as %q (base64 %v)", body, got, back.IsBase64Encoded)
		}
		if _, ok := back.Headers["cookie"]; ok {
			t.Fatal("cookies stayed among the headers")
		}
		for _, c := range back.Cookies {
			if c == "" || strings.Contains(c, ";") {
				t.Fatalf("cookie %q", c)
			}
		}
	})
}

func FuzzURLResponse(f *testing.F) {
	for _, s := range []string{`{"statusCode":201,"headers":{"a":"b"},"cookies":["c=d"],"body":"x"}`, `{"statusCode":200,"body":"AAE=","isBase64Encoded":true}`,
		`"text"`, `{"a":1}`, `[1]`, `nope`, `{"statusCode":"200"}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		res := response(payload)
		if res.status < 100 || res.status > 599 {
			t.Fatalf("status %d", res.status)
		}
		w := httptest.NewRecorder()
		res.write(w)
		if w.Code != res.status || !bytes.Equal(w.Body.Bytes(), res.body) {
			t.Fatalf("written %d %q; made %d %q", w.Code, w.Body.Bytes(), res.status, res.body)
		}
		for k, vs := range w.Header() {
			for _, v := range vs {
				if !validHeader(k, v) && k != "Content-Length" {
					t.Fatalf("header %q: %q", k, v)
				}
			}
		}
	})
}
