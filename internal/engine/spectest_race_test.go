package engine

// Pausing from another goroutine (DESIGN section 9: setting the pause flag
// must be race-free; the interpreter polls it through a host import, the
// compiler reads a global). Run with -race:
//
//	go test -race ./internal/engine -run TestSpecPauseFromGoroutine -v

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/wasi"
	"github.com/roam-edge/roam/internal/wasm"
)

// spinWasm is a spec-style module: spin(n) runs a loop n times, mixing the
// counter into an accumulator that it also stores in memory, and mirrors
// the counter in a mutable global.
var spinWasm = func() []byte {
	const (
		i64GeU     wasm.Opcode = 0x5A
		i64Add     wasm.Opcode = 0x7C
		i64Mul     wasm.Opcode = 0x7E
		i64Store   wasm.Opcode = 0x37
		i32WrapI64 wasm.Opcode = 0xA7
	)
	get := func(i uint64) wasm.Instr { return wasm.Instr{Op: wasm.OpLocalGet, Imm: i} }
	set := func(i uint64) wasm.Instr { return wasm.Instr{Op: wasm.OpLocalSet, Imm: i} }
	body := []wasm.Instr{
		{Op: wasm.OpBlock, Block: wasm.BlockType{Kind: wasm.BlockEmpty}},
		{Op: wasm.OpLoop, Block: wasm.BlockType{Kind: wasm.BlockEmpty}},
		get(1), get(0), {Op: i64GeU}, {Op: wasm.OpBrIf, Imm: 1},
		get(2), {Op: wasm.OpI64Const, Imm: 6364136223846793005}, {Op: i64Mul}, get(1), {Op: i64Add}, set(2),
		{Op: wasm.OpI32Const, Imm: 8}, get(2), {Op: i64Store, Imm2: 3},
		get(1), {Op: i32WrapI64}, {Op: wasm.OpGlobalSet, Imm: 0},
		get(1), {Op: wasm.OpI64Const, Imm: 1}, {Op: i64Add}, set(1),
		{Op: wasm.OpBr, Imm: 0},
		{Op: wasm.OpEnd},
		{Op: wasm.OpEnd},
		get(2),
		{Op: wasm.OpEnd},
	}
	m := &wasm.Module{
		Types:    []wasm.FuncType{{Params: []wasm.ValType{wasm.I64}, Results: []wasm.ValType{wasm.I64}}},
		Funcs:    []wasm.Func{{TypeIdx: 0, Locals: []wasm.ValType{wasm.I64, wasm.I64}, Body: body}},
		Memories: []wasm.Limits{{Min: 1}},
		Globals: []wasm.Global{{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true},
			Init: []wasm.Instr{{Op: wasm.OpI32Const}, {Op: wasm.OpEnd}}}},
		Exports: []wasm.Export{{Name: "spin", Kind: wasm.ExternFunc}, {Name: "g", Kind: wasm.ExternGlobal}},
	}
	return wasm.Encode(m)
}()

func TestSpecPauseFromGoroutine(t *testing.T) {
	for _, kind := range []Kind{Interpreter, Compiler} {
		t.Run(string(kind), func(t *testing.T) {
			if _, err := kind.Resolve(); err != nil {
				t.Skip(err)
			}
			testPauseFromGoroutine(t, kind)
		})
	}
}

func testPauseFromGoroutine(t *testing.T, kind Kind) {
	ctx := context.Background()
	rt, err := NewRuntime(Config{Kind: kind, CacheDir: t.TempDir(), NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)

	// The plain run gives the expected results; n is chosen so that it
	// takes about 50 ms here, long enough for several pauses.
	plain, err := rt.Load("spin", spinWasm, false)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := rt.Start(ctx, plain, wasi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close(ctx)
	n := uint64(1 << 12)
	for {
		start := time.Now()
		if _, err := ref.Call(ctx, "spin", n); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 50*time.Millisecond || n >= 1<<34 {
			break
		}
		n *= 2
	}
	want, err := ref.Call(ctx, "spin", n)
	if err != nil {
		t.Fatal(err)
	}
	wantMem, _ := ref.inst.Memory().Read(8, 8)
	wantG := ref.inst.ExportedGlobal("g").Get()

	m, err := rt.Load("spin", spinWasm, true)
	if err != nil {
		t.Fatal(err)
	}
	// The collector runs as it will: compiled guest code reaches Go at its
	// polls, so a stop-the-world no longer waits for the loop to end.
	// A pause that lands during a rewind is the rare case this is after:
	// several rounds make it likely.
	for round := 0; round < 3; round++ {
		res, mem, g, migrations, err := spinPausedFromGoroutine(ctx, rt, m, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0] != want[0] || !bytes.Equal(mem, wantMem) || g != wantG {
			t.Fatalf("after %d migrations: spin(%d) = %v, memory %x, g %d; want %v, %x, %d", migrations, n, res, mem, g, want, wantMem, wantG)
		}
		if migrations == 0 {
			t.Fatalf("spin(%d) finished before any pause from the other goroutine took effect", n)
		}
		t.Logf("%s: spin(%d) paused from another goroutine and migrated %d times, result %#x", kind, n, migrations, res[0])
	}
}

// spinPausedFromGoroutine runs spin(n) on a new migratable instance while
// another goroutine asks the current instance to pause every 500 µs; each
// pause is a migration to a fresh runtime.
func spinPausedFromGoroutine(ctx context.Context, rt *Runtime, m *Module, n uint64) (res []uint64, mem []byte, g uint64, migrations int, err error) {
	in, err := rt.Start(ctx, m, wasi.Config{})
	if err != nil {
		return nil, nil, 0, 0, err
	}
	var cur atomic.Pointer[Instance]
	cur.Store(in)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	burst := make(chan struct{}, 1)
	go func() { // the pauser, as a node agent's API handler would be
		defer wg.Done()
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				cur.Load().Pause()
			case <-burst:
				// A migration begins: pause over and over for a while, so
				// that some requests land in the middle of the next rewind.
				for end := time.Now().Add(3 * time.Millisecond); time.Now().Before(end); {
					cur.Load().Pause()
				}
			}
		}
	}()
	res, err = in.Call(ctx, "spin", n)
	for errors.Is(err, ErrPaused) {
		if migrations%4 == 3 {
			burst <- struct{}{}
		}
		var next *Instance
		if next, err = migrateOnce(ctx, rt, m, in); err != nil {
			break
		}
		cur.Store(next)
		in.Close(ctx)
		in = next
		migrations++
		res, err = in.Resume(ctx)
	}
	close(done)
	wg.Wait()
	defer in.Close(ctx)
	if err != nil {
		return nil, nil, 0, migrations, err
	}
	mem, _ = in.inst.Memory().Read(8, 8)
	return res, bytes.Clone(mem), in.inst.ExportedGlobal("g").Get(), migrations, nil
}

// migrateOnce captures a paused instance and restores it into a fresh
// runtime through the snapshot format.
func migrateOnce(ctx context.Context, rt *Runtime, m *Module, in *Instance) (*Instance, error) {
	s, err := in.Capture()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := snapshot.Encode(&buf, s); err != nil {
		return nil, err
	}
	s2, err := snapshot.Decode(&buf)
	if err != nil {
		return nil, err
	}
	return rt.Restore(ctx, m, s2, Stdio{})
}

// migrateStaged is migrateOnce the way a live migration's destination
// restores: the memory arrives as a delta written straight into a staged
// instance, then FinishRestore loads the rest. As in a first pre-copy
// round, zero chunks are left out: the staged memory must start all zero.
func migrateStaged(ctx context.Context, rt *Runtime, m *Module, in *Instance) (*Instance, error) {
	s, err := in.CaptureShared()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	nonZero := func(i int) bool {
		return slices.ContainsFunc(s.Memory[i*snapshot.PageSize:(i+1)*snapshot.PageSize], func(b byte) bool { return b != 0 })
	}
	if err := snapshot.EncodeDelta(&buf, s, snapshot.MemoryChunk(s.Memory, nonZero)); err != nil {
		return nil, err
	}
	staged, err := rt.Stage(ctx, m)
	if err != nil {
		return nil, err
	}
	s2, err := snapshot.DecodeDeltaInto(&buf, staged.StageMemory, snapshot.Limits{})
	if err == nil {
		err = staged.FinishRestore(ctx, s2, Stdio{})
	}
	if err != nil {
		staged.Close(ctx)
		return nil, err
	}
	return staged, nil
}
