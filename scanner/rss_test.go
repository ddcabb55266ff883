package scanner_test

import "syscall"

// maxRSSKiB is the process's peak resident set size so far.
func maxRSSKiB() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}
