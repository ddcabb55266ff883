package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// go-rpmdb runs its database readers in goroutines of its own, and when it
// stops at a header it cannot parse it leaves that goroutine blocked for
// good: one leaked goroutine (and its memory) per crafted database, which
// no caller can end. So berth reads rpm databases in a helper process, a
// copy of its own executable that reads one database, prints what it found
// and exits, taking whatever go-rpmdb left running with it. A helper that
// panics or runs past rpmHelperTimeout costs that database, never the
// scanner.

// rpmHelperEnv, when set, makes RunHelper read the rpm database at the
// path it holds instead of returning.
const rpmHelperEnv = "BERTH_INVENTORY_RPM_HELPER"

const (
	// rpmHelperTimeout bounds one helper. Reading a database of
	// maxRpm bytes takes seconds; a helper still running after this was
	// given a database that makes go-rpmdb loop.
	rpmHelperTimeout = 2 * time.Minute
	// maxHelperOutput bounds what a helper may print: the packages of a
	// real database are a few MiB of JSON.
	maxHelperOutput = 64 << 20
)

// helperEnabled is set by RunHelper: the executable runs the helper when
// started as one, so ReadLayer may start it.
var helperEnabled atomic.Bool

// errNoHelper is noted for an rpm database in a program that did not call
// RunHelper.
var errNoHelper = errors.New("rpm databases are read in a helper process, and this program does not run one (inventory.RunHelper)")

// RunHelper lets ReadLayer read rpm databases, which it does in a helper
// process: a copy of this program's executable started with an
// environment variable that makes RunHelper, in that copy, read the
// database, print its packages and exit instead of returning. A program
// that reads layers calls RunHelper first thing in main, and a test
// binary in TestMain; until it does, rpm databases are noted in
// Layer.Skipped rather than read.
func RunHelper() {
	if path, ok := os.LookupEnv(rpmHelperEnv); ok {
		os.Exit(rpmHelperMain(path, os.Stdout))
	}
	helperEnabled.Store(true)
}

// helperResult is what a helper prints: the packages, or why it could not
// read them.
type helperResult struct {
	Packages []Package `json:"packages,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// rpmHelperMain is the helper: it reads the rpm database at path, writes a
// helperResult to out and returns the exit status.
func rpmHelperMain(path string, out io.Writer) int {
	// go-rpmdb prints some complaints to standard output, which is the
	// result's: send them to standard error with the rest.
	os.Stdout = os.Stderr
	var res helperResult
	before := runtime.NumGoroutine()
	infos, err := listRpmPackages(path)
	if err != nil {
		res.Error = err.Error()
	}
	awaitReaders(before)
	for _, info := range infos {
		if p, ok := rpmPackage(info); ok {
			res.Packages = append(res.Packages, p)
		}
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "rpm helper:", err)
		return 1
	}
	return 0
}

// readerGrace is how long a helper waits for go-rpmdb's reader goroutines
// to end before it reports.
const readerGrace = 250 * time.Millisecond

// awaitReaders waits until the goroutines go-rpmdb started have ended, or
// for readerGrace when one stays blocked for good. A reader that panics
// closes its channel while it unwinds, so the list can look complete and
// empty a moment before the panic ends the process: reporting only after
// the readers are gone keeps that partial list from passing as the whole.
func awaitReaders(before int) {
	for deadline := time.Now().Add(readerGrace); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// readInHelper reads the rpm database at path in a helper process.
func readInHelper(ctx context.Context, path string) ([]Package, error) {
	if !helperEnabled.Load() {
		return nil, errNoHelper
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("starting the rpm helper: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, rpmHelperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), rpmHelperEnv+"="+path)
	stdout := &cappedBuffer{max: maxHelperOutput}
	stderr := &cappedBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("reading rpm database: still running after %s", rpmHelperTimeout)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("reading rpm database: helper %v: %s", err, firstLine(stderr.String()))
	case stdout.cut:
		return nil, fmt.Errorf("reading rpm database: more than %d MiB of packages", maxHelperOutput>>20)
	}
	var res helperResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("reading rpm database: helper output: %w", err)
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return res.Packages, nil
}

// firstLine is the first line of s, at most 200 bytes: a panic's message
// without its stack.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// cappedBuffer keeps the first max bytes written to it and drops the rest,
// noting that it did.
type cappedBuffer struct {
	bytes.Buffer
	max int
	cut bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.cut = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
