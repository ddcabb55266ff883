package batch

import (
	"math"
	"strconv"
	"strings"
)

// substitute replaces each Ref::<name> in arg whose name params holds by
// its value, as Batch fills a command's placeholders; a name is the
// longest run of letters, digits, '_' and '-' after "Ref::", and a
// placeholder of a name params lacks stays as it is.
func substitute(arg string, params map[string]string) string {
	const ref = "Ref::"
	if len(params) == 0 || !strings.Contains(arg, ref) {
		return arg
	}
	var b strings.Builder
	for {
		i := strings.Index(arg, ref)
		if i < 0 {
			b.WriteString(arg)
			return b.String()
		}
		b.WriteString(arg[:i])
		rest := arg[i+len(ref):]
		n := 0
		for n < len(rest) && isNameByte(rest[n]) {
			n++
		}
		if v, ok := params[rest[:n]]; ok && n > 0 {
			b.WriteString(v)
		} else {
			b.WriteString(ref + rest[:n])
		}
		arg = rest[n:]
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// matches reports whether s matches pattern as evaluateOnExit reads it:
// the whole string, or with a trailing '*' any string starting with what
// comes before it. An empty pattern matches anything (the condition is
// absent).
func matches(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	return pattern == s
}

// exitOutcome is what an attempt that did not succeed left to judge a
// retry by.
type exitOutcome struct {
	exitCode     *int
	reason       string // the container's reason
	statusReason string
}

// retryAction returns the action (RETRY or EXIT) of the first entry of
// rules that o matches; RETRY when none does, as Batch retries a job
// whose exit no entry names.
func retryAction(rules []EvaluateOnExit, o exitOutcome) string {
	for _, r := range rules {
		if r.OnExitCode != "" {
			if o.exitCode == nil || !matches(r.OnExitCode, strconv.Itoa(*o.exitCode)) {
				continue
			}
		}
		if !matches(r.OnReason, o.reason) || !matches(r.OnStatusReason, o.statusReason) {
			continue
		}
		return strings.ToUpper(r.Action)
	}
	return "RETRY"
}

// needs is what a job's container asks for: vCPUs in thousandths (Batch
// allows fractions on Fargate) and memory in MiB.
type needs struct {
	milliCPU  int64
	memoryMiB int64
}

// parseNeeds reads resourceRequirements, falling back on the legacy vcpus
// and memory members. It fails with a ClientException naming the value.
func parseNeeds(reqs []ResourceRequirement, vcpus, memory *int) (needs, error) {
	var n needs
	if vcpus != nil {
		n.milliCPU = int64(*vcpus) * 1000
	}
	if memory != nil {
		n.memoryMiB = int64(*memory)
	}
	for _, r := range reqs {
		switch r.Type {
		case "VCPU":
			f, err := strconv.ParseFloat(r.Value, 64)
			if err != nil || f <= 0 || f > 256 || math.IsNaN(f) {
				return n, clientError("Invalid VCPU value %q: it must be a positive number of vCPUs up to 256.", r.Value)
			}
			n.milliCPU = int64(math.Round(f * 1000))
		case "MEMORY":
			m, err := strconv.ParseInt(r.Value, 10, 64)
			if err != nil || m < 4 || m > 8<<20 {
				return n, clientError("Invalid MEMORY value %q: it must be a whole number of MiB, at least 4.", r.Value)
			}
			n.memoryMiB = m
		case "GPU":
			return n, clientError("GPU resource requirements are not supported: berth runs jobs on the local Docker host without GPUs.")
		default:
			return n, clientError("Invalid resource requirement type %q: it must be VCPU, MEMORY or GPU.", r.Type)
		}
	}
	return n, nil
}

// merged returns base with over's requirements replacing those of the
// same type.
func merged(base, over []ResourceRequirement) []ResourceRequirement {
	out := append([]ResourceRequirement(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].Type == o.Type {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// mergedEnv returns base with over's variables replacing those of the
// same name.
func mergedEnv(base, over []KeyValuePair) []KeyValuePair {
	out := append([]KeyValuePair(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].Name == o.Name {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}
