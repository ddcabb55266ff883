package output

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress shows progress bars on a terminal, and nothing anywhere else,
// so that a log or a pipe never fills with redrawn lines. Its methods may
// be called on a Progress that shows nothing.
type Progress struct {
	p     *mpb.Progress
	color bool
	tasks []*Task
	bars  []*Bar
}

// NewProgress returns progress bars drawn on w when w is a terminal. Wait
// must be called before anything else is written to the terminal.
func NewProgress(ctx context.Context, w io.Writer) *Progress {
	if !IsTerminal(w) {
		return &Progress{}
	}
	return &Progress{p: mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(80)), color: Colorful(w)}
}

// Wait draws the bars' last state and returns once they are drawn; a task
// not done yet (the command failed or was interrupted) ends marked as
// failed, where it stood.
func (pr *Progress) Wait() {
	if pr.p == nil {
		return
	}
	for _, t := range pr.tasks {
		if !t.bar.Completed() && !t.bar.Aborted() {
			t.bar.Abort(false)
		}
	}
	for _, b := range pr.bars {
		if !b.bar.Completed() && !b.bar.Aborted() {
			b.bar.Abort(false)
		}
	}
	pr.p.Wait()
}

// Task is one line of progress: a spinner while it runs, then a mark.
type Task struct {
	bar    *mpb.Bar
	status atomic.Pointer[string]
	mark   atomic.Pointer[string]
	start  time.Time
	took   atomic.Int64 // how long the task ran, once done
}

// Waiting adds a task for something of unknown length, such as a scan a
// server runs: a spinner, name, a status the caller updates, and the time
// spent.
func (pr *Progress) Waiting(name, status string) *Task {
	t := &Task{start: time.Now()}
	t.status.Store(&status)
	if pr.p == nil {
		return t
	}
	ok, failed := "✓", "✗"
	if pr.color {
		ok, failed = "\x1b[32m✓\x1b[0m", "\x1b[31m✗\x1b[0m"
	}
	t.mark.Store(&ok)
	t.bar = pr.p.New(0, mpb.SpinnerStyle(),
		mpb.BarWidth(1),
		mpb.BarFillerTrim(),
		mpb.BarFillerMiddleware(func(spin mpb.BarFiller) mpb.BarFiller {
			return mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
				if st.Completed || st.Aborted {
					mark := *t.mark.Load()
					if st.Aborted {
						mark = failed
					}
					_, err := io.WriteString(w, mark)
					return err
				}
				return spin.Fill(w, st)
			})
		}),
		mpb.AppendDecorators(
			decor.Name(" "+name, decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string { return *t.status.Load() }, decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string { return durationText(t.elapsed()) }),
		),
	)
	pr.tasks = append(pr.tasks, t)
	return t
}

// elapsed is how long the task has run, or ran.
func (t *Task) elapsed() time.Duration {
	if took := t.took.Load(); took > 0 {
		return time.Duration(took)
	}
	return time.Since(t.start)
}

// durationText is a duration for a person: tenths of a second under a
// minute ("0.4s", "12.0s"), then whole seconds ("1m5s").
func durationText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// SetStatus changes the task's status text.
func (t *Task) SetStatus(s string) { t.status.Store(&s) }

// Done ends the task with its final status; ok chooses the mark.
func (t *Task) Done(status string, ok bool) {
	t.status.Store(&status)
	t.took.Store(int64(max(time.Since(t.start), 1)))
	if t.bar == nil {
		return
	}
	if !ok {
		t.bar.Abort(false)
		return
	}
	t.bar.SetTotal(-1, true)
}

// Bar is one line of progress of a known size: bytes done of a total,
// such as a layer being pushed.
type Bar struct {
	bar    *mpb.Bar
	status atomic.Pointer[string]
}

// Bytes adds a bar named name, whose status, size and progress the
// caller sets as it learns them (Update), until Done.
func (pr *Progress) Bytes(name string) *Bar {
	b := &Bar{}
	b.status.Store(new(string))
	if pr.p == nil {
		return b
	}
	b.bar = pr.p.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.BarWidth(30),
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string { return *b.status.Load() }, decor.WCSyncSpace),
			decor.OnComplete(decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace), ""),
		),
	)
	pr.bars = append(pr.bars, b)
	return b
}

// Update sets the bar's status and progress; a total of 0 is not known
// yet.
func (b *Bar) Update(status string, current, total int64) {
	b.status.Store(&status)
	if b.bar == nil {
		return
	}
	if total > 0 {
		b.bar.SetTotal(total, false)
	}
	b.bar.SetCurrent(current)
}

// Done ends the bar, full, with its final status.
func (b *Bar) Done(status string) {
	b.status.Store(&status)
	if b.bar == nil {
		return
	}
	if b.bar.Current() == 0 {
		b.bar.SetTotal(1, false)
		b.bar.SetCurrent(1)
	}
	b.bar.SetTotal(-1, true)
}
