package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Health checks come in two kinds. A Checked target is probed all its
// life with GET Config.HealthCheck.Path, judged by the matcher. A Reported
// target is judged by its caller; the listener probes it only after a
// request to it failed (passive health), and then any HTTP answer counts,
// since the question is only whether something listens again.

// startProbeLocked starts t's health check loop unless one runs.
func (l *Listener) startProbeLocked(t *target) {
	if t.probing || l.closed || t.removed {
		return
	}
	t.probing = true
	l.bg.Add(1)
	go l.probe(t)
}

// probe checks t at once, then every interval, until record says stop or
// the target leaves.
func (l *Listener) probe(t *target) {
	defer l.bg.Done()
	tick := time.NewTicker(l.cfg.HealthCheck.Interval)
	defer tick.Stop()
	for {
		pass, reason, desc := l.check(t)
		if !l.record(t, pass, reason, desc) {
			return
		}
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// check sends one health check, as ALB does: GET on a new connection,
// closed afterwards, no redirect followed.
func (l *Listener) check(t *target) (pass bool, reason, desc string) {
	h := l.cfg.HealthCheck
	ctx, cancel := context.WithTimeout(t.ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.host+h.Path, nil)
	if err != nil {
		return false, reasonFailed, err.Error()
	}
	req.Close = true
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := t.tr.RoundTrip(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return false, reasonTimeout, "Request timed out"
		}
		return false, reasonFailed, err.Error()
	}
	// The body says nothing to a health check; read a little so a small
	// answer completes cleanly, never the whole of a large one.
	io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	if t.health == Reported || l.matcher.match(resp.StatusCode) {
		return true, "", ""
	}
	return false, reasonCode, fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)
}

// record applies one check's result to t and reports whether its loop
// goes on.
func (l *Listener) record(t *target, pass bool, reason, desc string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.removed || t.state == StateDraining || t.ctx.Err() != nil {
		t.probing = false
		return false
	}
	h := l.cfg.HealthCheck
	if t.health == Reported {
		// Probing after a failed request: back once it answers again,
		// unless the caller has since said it is unhealthy.
		if !t.reportedHealth || t.state != StateUnhealthy {
			t.probing = false
			return false
		}
		if !pass {
			t.passes = 0
			return true
		}
		if t.passes++; t.passes >= h.HealthyThreshold {
			l.setStateLocked(t, StateHealthy, "", "")
			t.probing = false
			return false
		}
		return true
	}
	if pass {
		t.fails = 0
		t.passes++
		// A new target needs one pass (as on ALB); one that failed needs
		// HealthyThreshold passes in a row.
		if t.state == StateInitial || (t.state == StateUnhealthy && t.passes >= h.HealthyThreshold) {
			l.setStateLocked(t, StateHealthy, "", "")
		}
		return true
	}
	t.passes = 0
	t.fails++
	if t.state == StateUnhealthy || t.fails >= h.UnhealthyThreshold {
		l.setStateLocked(t, StateUnhealthy, reason, desc)
	}
	return true
}

// passiveFail takes a target out of rotation at once after a request to
// it failed without an answer: a killed task refuses or resets
// connections well before its next health check would notice.
func (l *Listener) passiveFail(t *target, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.removed || t.state == StateDraining || t.state == StateUnhealthy {
		return
	}
	t.passes = 0
	l.setStateLocked(t, StateUnhealthy, reasonFailed, "request failed: "+err.Error())
	if t.health == Reported {
		l.startProbeLocked(t)
	}
}

// matcher is a parsed ALB HttpCode matcher: inclusive ranges of codes.
type matcher []codeRange

type codeRange struct{ lo, hi int }

// parseMatcher reads ALB's HttpCode syntax for HTTP health checks: codes
// and ranges from 200 to 499 separated by commas, e.g. "200,202-299".
func parseMatcher(s string) (matcher, error) {
	bad := func(why string) error {
		return fmt.Errorf("lb: health check matcher %q: %s; want codes from 200 to 499 such as \"200\", \"200,202\" or \"200-299\"", s, why)
	}
	if s == "" {
		return nil, bad("empty")
	}
	var m matcher
	for part := range strings.SplitSeq(s, ",") {
		loText, hiText, isRange := strings.Cut(part, "-")
		lo, err := parseCode(loText)
		if err != nil {
			return nil, bad(err.Error())
		}
		hi := lo
		if isRange {
			if hi, err = parseCode(hiText); err != nil {
				return nil, bad(err.Error())
			}
			if hi < lo {
				return nil, bad(fmt.Sprintf("range %s runs backwards", part))
			}
		}
		m = append(m, codeRange{lo, hi})
	}
	return m, nil
}

func parseCode(s string) (int, error) {
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a status code", s)
	}
	code, _ := strconv.Atoi(s)
	if code < 200 || code > 499 {
		return 0, fmt.Errorf("%d is outside 200-499", code)
	}
	return code, nil
}

func (m matcher) match(code int) bool {
	for _, r := range m {
		if r.lo <= code && code <= r.hi {
			return true
		}
	}
	return false
}
