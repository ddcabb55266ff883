package ecs

import "fmt"

// CheckFargateSize reports whether cpu and memory, written as a task
// definition writes them ("256" or "1 vCPU"; "512" or "1GB"), are one of
// Fargate's task sizes, with the message RegisterTaskDefinition would
// give when they are not. Clients check with it before they register
// anything (berth run --cpu --memory).
func CheckFargateSize(cpu, memory string) error {
	c, ok := parseCPU(cpu)
	if !ok {
		return fmt.Errorf("invalid cpu %q: units (256) or vCPUs (1 vCPU)", cpu)
	}
	m, ok := parseMemory(memory)
	if !ok {
		return fmt.Errorf("invalid memory %q: MiB (512) or GB (1GB)", memory)
	}
	if !fargateSize(c, m) {
		return fmt.Errorf("no Fargate configuration exists for %d CPU and %d MiB memory (256 CPU takes 512, 1024 or 2048; 512 takes 1024-4096; 1024 takes 2048-8192; 2048 takes 4096-16384; 4096 takes 8192-30720, in steps of 1024)", c, m)
	}
	return nil
}
