package docker

// ThroughEngine makes r read stats from the engine rather than from this
// machine's cgroups, as it does when the engine is elsewhere.
func ThroughEngine(r *Runtime) *Runtime {
	c := *r
	c.cgroupRoot = ""
	return &c
}
