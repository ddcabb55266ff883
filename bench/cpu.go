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
	st, err := parseProcStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.label, err)
	}
	return st.utime + st.stime, nil
}

// procTimes is what the bench reads from one /proc/<pid>/stat line, in
// seconds: the process's own CPU time and that of its children it has
// waited for, its parent and its process group.
type procTimes struct {
	ppid, pgrp                   int
	utime, stime, cutime, cstime float64
}

// parseProcStat reads a /proc/<pid>/stat line.
func parseProcStat(line string) (procTimes, error) {
	// The command name (field 2) may hold spaces; fields after it start
	// with the state, field 3, so ppid (4) is 1, pgrp (5) 2, utime (14) and stime (15)
	// are 11 and 12, cutime and cstime 13 and 14.
	fields := strings.Fields(line[strings.LastIndexByte(line, ')')+1:])
	if len(fields) < 15 {
		return procTimes{}, fmt.Errorf("short stat line %q", line)
	}
	var v [6]int64
	for i, f := range []int{1, 2, 11, 12, 13, 14} {
		n, err := strconv.ParseInt(fields[f], 10, 64)
		if err != nil {
			return procTimes{}, fmt.Errorf("bad stat line %q", line)
		}
		v[i] = n
	}
	return procTimes{
		ppid: int(v[0]), pgrp: int(v[1]),
		utime: float64(v[2]) / clockTicks, stime: float64(v[3]) / clockTicks,
		cutime: float64(v[4]) / clockTicks, cstime: float64(v[5]) / clockTicks,
	}, nil
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
