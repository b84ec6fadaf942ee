package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile writes a CPU profile of the whole process to path (CALLSCRIBE_CPU_PROFILE)
// until the returned stop is called; empty path: off, the default. It is for measuring
// (scripts/ingestbench -cpuprofile), not for production: the file names functions, never
// data, but profiling costs a few percent of CPU.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("CALLSCRIBE_CPU_PROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("CALLSCRIBE_CPU_PROFILE: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
