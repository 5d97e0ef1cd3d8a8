package engine

import (
	"context"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// tracked publishes the buffer of a linear memory each time it is
// (re)allocated, so that LiveMemory can read guest memory from another
// goroutine while the guest runs: wazero's own view of the size is not
// safe to read concurrently.
type tracked struct {
	experimental.LinearMemory
	cur *atomic.Pointer[[]byte]
}

func (t tracked) Reallocate(size uint64) []byte {
	b := t.LinearMemory.Reallocate(size)
	if b != nil {
		t.cur.Store(&b)
	}
	return b
}

// withGuestMemory makes wazero allocate the instance's memory through
// newLinearMemory, tracked.
func (in *Instance) withGuestMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(capacity, max uint64) experimental.LinearMemory {
			return tracked{LinearMemory: newLinearMemory(capacity, max), cur: &in.live}
		}))
}

// LiveMemory returns the guest's linear memory as it is now, without a copy,
// for pre-copy while the guest runs: its bytes may change under the reader
// at any time, and it is valid until the instance closes. Nil without a
// memory.
func (in *Instance) LiveMemory() []byte {
	if b := in.live.Load(); b != nil {
		return *b
	}
	return nil
}

// heapMemory is the fallback when the mapping fails: a Go slice.
type heapMemory struct{ buf []byte }

func (h *heapMemory) Reallocate(size uint64) []byte {
	if size <= uint64(cap(h.buf)) {
		return h.buf[:size]
	}
	n := make([]byte, size, size+size/2)
	copy(n, h.buf)
	h.buf = n
	return n[:size]
}

func (h *heapMemory) Free() { h.buf = nil }
