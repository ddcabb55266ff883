package lb

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errNoTarget: no target is fit to receive the request; the client gets
// 503 as from an ALB with no healthy target.
var errNoTarget = errors.New("lb: no healthy target")

// rewrite shapes the request a target receives as ALB does: the Host
// header as the client sent it, X-Forwarded-For appended to (ALB's default
// "append" mode), X-Forwarded-Proto and X-Forwarded-Port set by the
// listener whatever the client sent, and an X-Amzn-Trace-Id when the
// request has none. The target's address is filled in per attempt by the
// balancer.
func (l *Listener) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.Host = pr.In.Host
	clientIP, _, err := net.SplitHostPort(pr.In.RemoteAddr)
	if err != nil {
		clientIP = pr.In.RemoteAddr
	}
	if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		clientIP = strings.Join(prior, ", ") + ", " + clientIP
	}
	pr.Out.Header.Set("X-Forwarded-For", clientIP)
	pr.Out.Header.Set("X-Forwarded-Proto", "http")
	pr.Out.Header.Set("X-Forwarded-Port", l.port)
	if pr.Out.Header.Get("X-Amzn-Trace-Id") == "" {
		pr.Out.Header.Set("X-Amzn-Trace-Id", traceID(time.Now()))
	}
}

// traceID makes an X-Amzn-Trace-Id root as ALB does: version 1, the epoch
// second in hex, 96 random bits in hex.
func traceID(now time.Time) string {
	b := make([]byte, 0, 40)
	b = append(b, "Root=1-"...)
	b = appendHex(b, uint64(now.Unix()), 8)
	b = append(b, '-')
	b = appendHex(b, uint64(rand.Uint32()), 8)
	b = appendHex(b, rand.Uint64(), 16)
	return string(b)
}

func appendHex(b []byte, v uint64, digits int) []byte {
	const hex = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[(v>>(4*i))&0xf])
	}
	return b
}

// balancer is the ReverseProxy's transport: it sends each attempt of a
// request to a target the listener picks, and retries on another target
// when that is safe (see retriable).
type balancer struct{ l *Listener }

func (b balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	l := b.l
	var body *watchedBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &watchedBody{r: req.Body}
		req.Body = body
	}
	var wrote, answered atomic.Bool
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteHeaders:         func() { wrote.Store(true) },
		GotFirstResponseByte: func() { answered.Store(true) },
	})
	var tried []*target
	var lastErr error
	for {
		t := l.pick(tried)
		if t == nil {
			if lastErr != nil {
				return nil, lastErr
			}
			return nil, errNoTarget
		}
		// Each attempt gets its own copy: the transport may still hold an
		// earlier attempt's request when it has returned.
		out := req.Clone(ctx)
		out.URL.Host = t.host
		resp, err := t.tr.RoundTrip(out)
		if err == nil {
			resp.Body = track(l, t, resp.Body)
			return resp, nil
		}
		l.release(t)
		err = fmt.Errorf("target %s: %w", t.host, err)
		if req.Context().Err() != nil || (body != nil && body.failed.Load()) {
			// The client left or broke off its body, or the listener is
			// stopping: not the target's fault, and nobody to retry for.
			return nil, err
		}
		if wrote.Load() && isTimeout(err) {
			// The target took the request and did not answer within the
			// idle timeout: a slow target is not a dead one, and it may
			// still be acting on the request. The client gets 504.
			return nil, err
		}
		l.passiveFail(t, err)
		if !retriable(req.Method, wrote.Load(), answered.Load(), body) {
			return nil, err
		}
		l.retries.Add(1)
		l.log.Info("retrying request on another target", "method", req.Method, "path", req.URL.Path, "err", err)
		tried = append(tried, t)
		lastErr = err
	}
}

// retriable says whether a failed attempt may be sent to another target.
// All of these must hold:
//
//   - the target sent back nothing, not one byte (not even a 1xx);
//   - the transport never asked for a byte of the request body (a request
//     without a body always qualifies), since a body is streamed, never
//     kept, and cannot be sent twice;
//   - either the request's headers were never written to the connection
//     (the connection was refused, or broke before anything was sent), or
//     its method is idempotent by RFC 9110 (GET, HEAD, OPTIONS, TRACE, PUT,
//     DELETE), so a target that did act on it before dying does no harm
//     if another acts again.
//
// So a POST is retried only when it cannot have reached a target.
func retriable(method string, wrote, answered bool, body *watchedBody) bool {
	if answered || (body != nil && body.touched.Load()) {
		return false
	}
	return !wrote || idempotent(method)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// watchedBody is a request body that remembers whether anyone asked for
// a byte of it, and whether reading it from the client failed.
type watchedBody struct {
	r       io.Reader
	touched atomic.Bool
	failed  atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.touched.Store(true)
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
	}
	return n, err
}

// Close does nothing: the transport closes a request's body when an
// attempt fails, and a retry still needs it. ReverseProxy closes the
// client's body when the request ends.
func (b *watchedBody) Close() error { return nil }

// track wraps a response body so the request counts as in flight on t
// until the body is closed: a streamed download or an upgraded connection
// holds a draining target for as long as it lasts.
func track(l *Listener, t *target, body io.ReadCloser) io.ReadCloser {
	tb := &trackedBody{ReadCloser: body, l: l, t: t}
	if w, ok := body.(io.Writer); ok {
		// A 101 Switching Protocols answer: the body is the connection,
		// and ReverseProxy writes to it.
		return &trackedConn{trackedBody: tb, w: w}
	}
	return tb
}

type trackedBody struct {
	io.ReadCloser
	l    *Listener
	t    *target
	once sync.Once
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.l.release(b.t) })
	return err
}

type trackedConn struct {
	*trackedBody
	w io.Writer
}

func (c *trackedConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// logResponse logs one line per answered request at debug level: no
// body, query string or header value.
func (l *Listener) logResponse(resp *http.Response) error {
	if l.log.Enabled(resp.Request.Context(), slog.LevelDebug) {
		l.log.Debug("request", "method", resp.Request.Method, "path", resp.Request.URL.Path,
			"target", resp.Request.URL.Host, "status", resp.StatusCode)
	}
	return nil
}

// writeError is where a failed request becomes the listener's own
// answer, as ALB words it: 503 when no target is fit, 504 when a target
// took the request and did not answer within the idle timeout, 502 when
// the targets tried failed to answer.
func (l *Listener) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // nobody is listening for an answer
	}
	var status int
	switch {
	case errors.Is(err, errNoTarget):
		status = http.StatusServiceUnavailable
		l.log.Debug("no healthy target", "method", r.Method, "path", r.URL.Path)
	case isTimeout(err):
		status = http.StatusGatewayTimeout
		l.log.Warn("target did not answer in time", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		status = http.StatusBadGateway
		l.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	text := http.StatusText(status)
	if status == http.StatusServiceUnavailable {
		text = "Service Temporarily Unavailable"
	}
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "awselb/2.0")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html>\r\n<head><title>%[1]d %[2]s</title></head>\r\n<body>\r\n<center><h1>%[1]d %[2]s</h1></center>\r\n</body>\r\n</html>\r\n", status, text)
}

// bufferPool lends ReverseProxy its copy buffers, so streaming a body
// costs no allocation per request.
type bufferPool struct{ pool *sync.Pool }

func newBufferPool() bufferPool {
	return bufferPool{&sync.Pool{New: func() any { return make([]byte, 32<<10) }}}
}

func (p bufferPool) Get() []byte  { return p.pool.Get().([]byte) }
func (p bufferPool) Put(b []byte) { p.pool.Put(b) }
