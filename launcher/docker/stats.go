package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/launcher"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

var _ launcher.StatsSource = (*Runtime)(nil)

// cgroupPeakFiles are where a local engine's containers keep their memory
// peak, by cgroup layout: v1 with the cgroupfs driver, v2 with the
// systemd driver, v2 with cgroupfs. %s is the full container id, so a
// file found is that container's and no other's.
var cgroupPeakFiles = []string{
	"memory/docker/%s/memory.max_usage_in_bytes",
	"memory/system.slice/docker-%s.scope/memory.max_usage_in_bytes",
	"system.slice/docker-%s.scope/memory.peak",
	"docker/%s/memory.peak",
}

// MemoryPeak implements [launcher.StatsSource]. When the engine runs on
// this machine, the container's cgroup file says it in microseconds; else
// it asks the engine for one stats sample (one-shot, which still takes
// the engine hundreds of milliseconds): the cgroup's max_usage on cgroup
// v1, the current usage where the engine reports no maximum.
func (r *Runtime) MemoryPeak(ctx context.Context, id string) (uint64, error) {
	if r.cgroupRoot != "" && !strings.ContainsAny(id, "/.") {
		for _, f := range cgroupPeakFiles {
			b, err := os.ReadFile(filepath.Join(r.cgroupRoot, fmt.Sprintf(f, id)))
			if err != nil {
				continue
			}
			if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
				return n, nil
			}
		}
	}
	res, err := r.c.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return 0, fmt.Errorf("stats %s: %w", short(id), engineErr(err, launcher.ErrNotFound))
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st); err != nil {
		return 0, fmt.Errorf("stats %s: %w", short(id), err)
	}
	return max(st.MemoryStats.MaxUsage, st.MemoryStats.Usage), nil
}
