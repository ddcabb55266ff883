package lambda

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// LogStream is one log stream an environment writes: its runtime's output
// and Lambda's START, END and REPORT lines. launcher/logs' Writer is one.
type LogStream interface {
	// Write adds a line stamped at.
	Write(at time.Time, line string)
	// Close flushes what the stream holds and returns the first error it
	// had appending.
	Close() error
}

// LogSink opens the log streams of environments: /aws/lambda/<function>,
// streams named as [LogStreamName] says.
type LogSink interface {
	// Open returns the stream, creating the group and the stream when they
	// do not exist.
	Open(ctx context.Context, group, stream string) (LogStream, error)
}

// LogGroup is the log group of function name.
func LogGroup(name string) string { return "/aws/lambda/" + name }

// LogStreamName is the name Lambda gives an environment's stream:
// YYYY/MM/DD/[version]id, dated when the environment started.
func LogStreamName(started time.Time, version, id string) string {
	return started.UTC().Format("2006/01/02") + "/[" + version + "]" + id
}

// TailBytes is how much of an invocation's log LogType Tail returns.
const TailBytes = 4 << 10

// tailBuffer keeps the last TailBytes of an invocation's log lines.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) add(line string) {
	t.b = append(t.b, line...)
	t.b = append(t.b, '\n')
	if len(t.b) > 2*TailBytes {
		// Keep the buffer from growing with a chatty function: drop all
		// but the last TailBytes now and then rather than on every line.
		t.b = append(t.b[:0], t.b[len(t.b)-TailBytes:]...)
	}
}

func (t *tailBuffer) reset() { t.b = t.b[:0] }

// last returns a copy of the last TailBytes.
func (t *tailBuffer) last() []byte {
	b := t.b
	if len(b) > TailBytes {
		b = b[len(b)-TailBytes:]
	}
	return append([]byte(nil), b...)
}

// report is an invocation's REPORT line, and what it costs.
type report struct {
	requestID string
	duration  time.Duration
	// init is the environment's Init Duration, reported with its first
	// invocation only.
	init       time.Duration
	memorySize int    // MB
	maxMemory  uint64 // bytes
	// status is "timeout" or a platform error type ("Runtime.ExitError");
	// "" for an invocation the runtime answered.
	status string
}

// billed is the Billed Duration: the duration rounded up to the next
// millisecond, init included (Lambda bills the init of container
// images).
func (r report) billed() time.Duration {
	ms := math.Ceil(float64(r.duration+r.init) / float64(time.Millisecond))
	return time.Duration(ms) * time.Millisecond
}

// line renders the REPORT line as Lambda writes it: tab-separated fields
// after the request id, each "Name: value unit", with a trailing tab.
func (r report) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		r.requestID, float64(r.duration)/float64(time.Millisecond), r.billed().Milliseconds(), r.memorySize,
		(r.maxMemory+(1<<20)-1)>>20)
	if r.init > 0 {
		fmt.Fprintf(&b, "Init Duration: %.2f ms\t", float64(r.init)/float64(time.Millisecond))
	}
	switch r.status {
	case "":
	case "timeout":
		b.WriteString("Status: timeout\t")
	default:
		fmt.Fprintf(&b, "Status: error\tError Type: %s\t", r.status)
	}
	return b.String()
}
