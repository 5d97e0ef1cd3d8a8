package node

import (
	"runtime"
	"sync"

	"github.com/cespare/xxhash/v2"

	"github.com/roam-edge/roam/internal/snapshot"
)

const chunk = snapshot.PageSize // migration works in the snapshot's 64 KiB chunks

var zeroHash = xxhash.Sum64(make([]byte, chunk))

// dirtyTracker knows, per chunk, the hash of what the destination holds.
// Hashing is the baseline of DESIGN.md section 4: it needs no help from the
// guest or the Go runtime, and the hash is always taken on the bytes that
// are sent, so a chunk torn by a guest write is simply sent again.
type dirtyTracker struct {
	sent    []uint64 // hash of each chunk as the destination holds it
	scratch []byte   // the stable copy of the chunk being sent
	copied  int      // chunks sent by the current round
}

func newDirtyTracker() *dirtyTracker { return &dirtyTracker{scratch: make([]byte, chunk)} }

// grow extends the tracker to a memory of size bytes: new chunks are zero
// at the destination, which grows its memory with zeros.
func (t *dirtyTracker) grow(size int) {
	for len(t.sent) < size/chunk {
		t.sent = append(t.sent, zeroHash)
	}
}

// liveChunks returns the chunk function of a pre-copy round over live, the
// memory the guest is writing: a chunk whose content differs from what the
// destination holds is copied out, and the copy is hashed and sent.
func (t *dirtyTracker) liveChunks(live []byte) func(int) []byte {
	t.grow(len(live))
	t.copied = 0
	return func(i int) []byte {
		c := live[i*chunk : (i+1)*chunk]
		if xxhash.Sum64(c) == t.sent[i] {
			return nil
		}
		copy(t.scratch, c)
		t.sent[i] = xxhash.Sum64(t.scratch)
		t.copied++
		return t.scratch
	}
}

// dirty lists the chunks of a paused memory that differ from what the
// destination holds.
func (t *dirtyTracker) dirty(mem []byte) []bool {
	t.grow(len(mem))
	dirty := make([]bool, len(mem)/chunk)
	parallel(len(dirty), func(i int) {
		dirty[i] = xxhash.Sum64(mem[i*chunk:(i+1)*chunk]) != t.sent[i]
	})
	return dirty
}

// parallel runs f(0..n-1) over the machine's cores, in contiguous ranges.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}
