//go:build !unix

package main

import "time"

// cpuTime is unknown here; CPU-time ratios then read as NaN.
func cpuTime() time.Duration { return 0 }
