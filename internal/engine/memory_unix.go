//go:build unix && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64 || mips64 || mips64le)

package engine

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// newLinearMemory puts linear memories in anonymous mappings outside the Go
// heap: the garbage collector never scans or copies them, and memory.grow
// never copies (DESIGN.md section 2: growth inside the Go heap starts GC
// cycles whose preemption signals hit the threads running compiled code).
// The whole maximum is reserved up front; the kernel commits pages as they
// are touched. It also lets pre-copy read memory while the guest runs
// without touching the Go heap.
func newLinearMemory(capacity, max uint64) experimental.LinearMemory {
	return newMapped(capacity, max)
}

type mapped struct{ buf []byte }

func newMapped(capacity, max uint64) experimental.LinearMemory {
	if max == 0 {
		max = capacity
	}
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return &heapMemory{}
	}
	return &mapped{buf: buf}
}

func (m *mapped) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

func (m *mapped) Free() {
	if m.buf != nil {
		syscall.Munmap(m.buf)
		m.buf = nil
	}
}
