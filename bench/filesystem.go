package main

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// runFilesystem is the filesystem part: berth and Distribution with local
// storage (and the minimal server), every scenario. The servers are
// stopped when it returns.
func runFilesystem(ctx context.Context, cfg config, tmp string, layers []blob, info *machineInfo) (res *results, err error) {
	berthLabel := "berth"
	if cfg.berthKind == "distribution" {
		berthLabel = "Distribution (A/A stand-in for berth)"
	}

	// Start both servers (and the pull ceiling).
	var servers [3]*server
	defer func() {
		for _, s := range servers {
			if s == nil {
				continue
			}
			s.stop()
			if tail := s.logTail(40); err != nil && ctx.Err() == nil && strings.TrimSpace(tail) != "" {
				fmt.Fprintf(os.Stderr, "\n--- %s log tail ---\n%s\n", s.label, tail)
			}
		}
	}()
	if cfg.berthKind == "distribution" {
		servers[0], err = startDistribution(ctx, berthLabel, cfg.distBin, mkdir(tmp, "server-berth"))
	} else {
		servers[0], err = startBerth(ctx, berthLabel, cfg.berthBin, mkdir(tmp, "server-berth"))
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", berthLabel, err)
	}
	servers[1], err = startDistribution(ctx, "Distribution 2.8.2", cfg.distBin, mkdir(tmp, "server-distribution"))
	if err != nil {
		return nil, fmt.Errorf("start Distribution: %w", err)
	}
	for _, s := range servers[:2] {
		logf("%s ready at %s (pid %d)", s.label, s.base, s.cmd.Process.Pid)
		if err := warmUp(ctx, s); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", s.label, err)
		}
	}

	res = newResults(cfg)

	// measure runs one scenario cfg.runs times on both servers. The order
	// flips every run and every scenario, so neither server is always
	// first. f measures server s in run r and returns the log line's value;
	// the server's CPU time for each measurement goes into cpu.
	both := []int{0, 1}
	measure := func(scenario int, name string, who []int, cpu *metric, f func(r, i int, s *server) (string, error)) error {
		for r := 0; r < cfg.runs; r++ {
			for _, i := range order(who, scenario, r) {
				s := servers[i]
				var text string
				used, err := cpuDuring([]procStat{s.stat()}, func() error {
					var err error
					if text, err = f(r, i, s); err == nil {
						err = s.alive()
					}
					return err
				})
				if err != nil {
					return fmt.Errorf("%s, %s run %d: %w", s.label, name, r+1, err)
				}
				cpu.add(i, used[0])
				logf("%-16s run %d/%d  %-40s %s  (server CPU %.2f s)", name, r+1, cfg.runs, s.label, text, used[0])
			}
		}
		return nil
	}

	// The ceiling (a minimal server) runs the push and pull scenarios too.
	largeImages := make([]*image, cfg.runs)
	for r := range largeImages {
		largeImages[r] = largeImage(layers, r)
	}
	pullImage := largeImages[0] // run 0's image is the one pulled
	withCeiling := both
	if cfg.ceiling {
		dir, err := ceilingDir(tmp, pullImage)
		if err != nil {
			return nil, err
		}
		servers[2], err = startCeiling(ctx, mkdir(tmp, "server-ceiling"), dir)
		if err != nil {
			return nil, fmt.Errorf("start ceiling server: %w", err)
		}
		logf("%s ready at %s (pid %d)", servers[2].label, servers[2].base, servers[2].cmd.Process.Pid)
		withCeiling = []int{0, 1, 2}
	}

	// 1. Large push: each run pushes its own image (same layers, a new
	// config) to its own repository.
	if err := measure(0, "large push", withCeiling, res.largePush.cpu, func(r, i int, s *server) (string, error) {
		v, err := measureLargePush(ctx, s, largeImages[r], cfg.stepTimeout)
		res.largePush.add(i, v)
		return fmt.Sprintf("%8.1f MiB/s", v), err
	}); err != nil {
		return nil, err
	}

	// 2. Large pull of the run-0 image.
	if err := measure(1, "large pull", withCeiling, res.largePull.cpu, func(r, i int, s *server) (string, error) {
		v, err := measureLargePull(ctx, s, pullImage, cfg.pullRepeats, cfg.stepTimeout)
		res.largePull.add(i, v)
		return fmt.Sprintf("%8.1f MiB/s", v), err
	}); err != nil {
		return nil, err
	}

	// 3. Small-image pushes: fresh images each run, the same set on both.
	smallSets := make([][]*image, cfg.runs)
	if err := measure(2, "small pushes", both, res.smallPush.cpu, func(r, i int, s *server) (string, error) {
		if smallSets[r] == nil {
			smallSets[r] = smallImages(r, cfg.smallImages)
		}
		v, err := measureSmallPushes(ctx, s, smallSets[r], cfg.smallWorkers, cfg.stepTimeout)
		res.smallPush.add(i, v)
		return fmt.Sprintf("%8.1f images/s", v), err
	}); err != nil {
		return nil, err
	}

	// 4. Concurrent pulls of the large image.
	if err := measure(3, "concurrent pull", withCeiling, res.concPull.cpu, func(r, i int, s *server) (string, error) {
		v, err := measureConcurrentPull(ctx, s, pullImage, cfg.pullClients, cfg.stepTimeout)
		res.concPull.add(i, v)
		return fmt.Sprintf("%8.1f MiB/s", v), err
	}); err != nil {
		return nil, err
	}

	// 5. Manifest HEAD latency.
	if err := measure(4, "manifest HEAD", both, res.headP99.cpu, func(r, i int, s *server) (string, error) {
		p50, p99, err := measureHeadLatency(ctx, s, pullImage, cfg.heads, cfg.stepTimeout)
		res.headP50.add(i, p50)
		res.headP99.add(i, p99)
		return fmt.Sprintf("p50 %.3f ms  p99 %.3f ms", p50, p99), err
	}); err != nil {
		return nil, err
	}

	// 6. Peak RSS over the whole part, read before stopping.
	for i, s := range servers[:2] {
		kib, err := s.peakRSS()
		if err != nil {
			return nil, fmt.Errorf("%s, peak RSS: %w", s.label, err)
		}
		res.peakRSS.add(i, float64(kib)/1024)
		logf("peak RSS                 %-40s %8.1f MiB", s.label, float64(kib)/1024)
	}

	for i, s := range servers[:2] {
		if cpu, err := s.stat().cpuSeconds(); err == nil {
			info.cpuTotal[i] = cpu
		}
	}
	info.labels = [2]string{servers[0].label, servers[1].label}
	info.aa = cfg.berthKind == "distribution"
	info.ceiling = cfg.ceiling
	return res, nil
}
