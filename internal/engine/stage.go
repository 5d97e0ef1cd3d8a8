package engine

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/wasi"
)

// Stage instantiates m ahead of a restore whose memory arrives in parts, as
// in live migration: the parts are written straight into the instance's
// memory (StageMemory) while the source still runs, and FinishRestore loads
// the rest of the state once it arrives, so that no copy of the whole
// memory remains to be made while the guest is stopped.
func (r *Runtime) Stage(ctx context.Context, m *Module) (*Instance, error) {
	if !m.Migratable {
		return nil, errors.New("a snapshot can only be restored in migratable mode")
	}
	h, err := wasi.New(wasi.Config{})
	if err != nil {
		return nil, err
	}
	in, err := r.instantiate(ctx, m, h)
	if err != nil {
		return nil, err
	}
	// A delta's receiver holds zeros where nothing arrived; instantiation
	// wrote the data segments, whose bytes come with the memory instead.
	if mem := in.memory(); mem != nil {
		b, _ := mem.Read(0, mem.Size())
		clear(b)
	}
	in.staged = true
	return in, nil
}

// StageMemory grows a staged instance's memory to pages and returns it, for
// the caller to write received memory into; it starts all zero. Memory
// never shrinks.
func (in *Instance) StageMemory(pages uint32) ([]byte, error) {
	if !in.staged {
		return nil, errors.New("instance is not staged")
	}
	mem := in.memory()
	if mem == nil {
		if pages != 0 {
			return nil, errors.New("snapshot has memory but the module has none")
		}
		return nil, nil
	}
	cur := mem.Size() / 65536
	if pages < cur {
		return nil, fmt.Errorf("memory of %d pages is smaller than the %d the instance has", pages, cur)
	}
	if _, ok := mem.Grow(pages - cur); !ok {
		return nil, fmt.Errorf("cannot grow memory to %d pages", pages)
	}
	b, _ := mem.Read(0, mem.Size())
	return b, nil
}

// FinishRestore loads the snapshot's state into a staged instance, whose
// memory s.Memory must be (as StageMemory returned it); Run then continues
// the guest where it paused.
func (in *Instance) FinishRestore(ctx context.Context, s *snapshot.Snapshot, stdio Stdio) error {
	if !in.staged {
		return errors.New("instance is not staged")
	}
	if err := in.rt.checkSnapshot(in.mod, s); err != nil {
		return err
	}
	mem, err := in.StageMemory(s.MemoryPages)
	if err != nil {
		return err
	}
	if len(mem) != len(s.Memory) || (len(mem) > 0 && unsafe.SliceData(mem) != unsafe.SliceData(s.Memory)) {
		return errors.New("snapshot memory is not the staged instance's memory")
	}
	h, err := wasi.Restore(wasi.Config{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr, Volumes: in.rt.volumes}, s.WASI)
	if err != nil {
		return fmt.Errorf("restore WASI state: %w", err)
	}
	in.wasi, in.wasiFuncs = h, h.Funcs()
	in.staged = false
	return in.load(ctx, s, false)
}
