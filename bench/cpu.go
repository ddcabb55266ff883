package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat names a process the bench reads its use of the machine for,
// from /proc: CPU time and peak memory. Every registry process has one,
// and so does MinIO.
type procStat struct {
	label string
	pid   int
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds returns the user+system CPU time the process has used so far.
func (p procStat) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.label, err)
	}
	// The command name (field 2) may hold spaces; fields after it start
	// with the state, field 3, so utime (14) and stime (15) are 11 and 12.
	line := string(b)
	fields := strings.Fields(line[strings.LastIndexByte(line, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%s: short /proc/%d/stat", p.label, p.pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad /proc/%d/stat: %q", p.label, p.pid, line)
	}
	return float64(utime+stime) / clockTicks, nil
}

// peakRSS returns VmHWM (peak resident set size) in KiB.
func (p procStat) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.label, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			return strconv.ParseInt(fields[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no VmHWM in /proc/%d/status", p.label, p.pid)
}

// cpuDuring runs measure and returns the CPU seconds each of procs used
// while it ran, in their order: the server's share of a measurement, read
// around it.
func cpuDuring(procs []procStat, measure func() error) ([]float64, error) {
	used := make([]float64, len(procs))
	for i, p := range procs {
		before, err := p.cpuSeconds()
		if err != nil {
			return nil, err
		}
		used[i] = -before
	}
	if err := measure(); err != nil {
		return nil, err
	}
	for i, p := range procs {
		after, err := p.cpuSeconds()
		if err != nil {
			return nil, err
		}
		used[i] += after
	}
	return used, nil
}
