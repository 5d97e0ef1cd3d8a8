package main

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPU is the CPU time that thread tid of this process has used. Pause
// latency measured in the guest thread's CPU time leaves out the time the OS
// kept that thread off the CPU, which on a shared machine dominates the tail.
func threadCPU(tid int) time.Duration {
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) of the Linux ABI.
	clock := (^uintptr(tid))<<3 | 6
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

func gettid() int { return syscall.Gettid() }
