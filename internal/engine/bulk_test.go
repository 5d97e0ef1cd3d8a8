package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/roam-edge/roam/internal/wasi"
	"github.com/roam-edge/roam/internal/wasm"
)

// startForCalls loads b as a migratable module into a new runtime and
// starts an instance of it, whose exports the test then calls.
func startForCalls(t *testing.T, cfg Config, name string, b []byte) (*Runtime, *Module, *Instance) {
	t.Helper()
	cfg.CacheDir = t.TempDir()
	rt, err := NewRuntime(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Load(name, b, true)
	if err != nil {
		t.Fatal(err)
	}
	in, err := rt.Start(context.Background(), m, wasi.Config{Args: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	return rt, m, in
}

// callStopping calls an export with a pause pending at every safe point:
// each stop goes on in place or, every other time, moves the instance
// through a snapshot into a new one. It returns the instance the call
// ended in and how many times it stopped.
func callStopping(ctx context.Context, t *testing.T, rt *Runtime, m *Module, in *Instance, name string, args ...uint64) (*Instance, []uint64, int, error) {
	t.Helper()
	in.Pause()
	res, err := in.Call(ctx, name, args...)
	stops := 0
	for errors.Is(err, ErrPaused) {
		stops++
		if stops%2 == 0 {
			next, merr := migrateOnce(ctx, rt, m, in)
			if merr != nil {
				t.Fatalf("%s: migration at stop %d: %v", name, stops, merr)
			}
			in.Close(ctx)
			in = next
		} else if cerr := in.Continue(); cerr != nil {
			t.Fatal(cerr)
		}
		in.Pause()
		res, err = in.Resume(ctx)
	}
	return in, res, stops, err
}

// TestPauseInsideBulkMemory: a memory.fill or memory.copy over megabytes
// stops between its chunks, and the memory ends as one instruction would
// have left it; out-of-bounds ranges trap before writing a byte.
func TestPauseInsideBulkMemory(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wat/bulk.wasm")
	if err != nil {
		t.Fatal(err)
	}
	const size = 80 << 16
	type op struct {
		name    string
		d, s, n uint32
		trap    bool
	}
	ops := []op{
		{"fill", 4096, 0xAB, 3<<20 + 5, false},
		{"copy", 100, 200_000, 2<<20 + 17, false},      // overlapping, destination below
		{"copy", 300_000, 100, 2<<20 + 33, false},      // overlapping, destination above
		{"fill", size - 3, 7, 3, false},                // ends at the last byte
		{"fill", size - 10, 1, 11, true},               // one byte past the end
		{"copy", 0, size - (1 << 20), 1<<20 + 1, true}, // source past the end
		{"copy", size - (1 << 20), 0, 1<<20 + 1, true}, // destination past the end
	}
	for _, kind := range []Kind{Compiler, Interpreter} {
		t.Run(string(kind), func(t *testing.T) {
			rt, m, in := startForCalls(t, Config{Kind: kind}, "bulk", b)
			defer func() { in.Close(context.Background()) }()
			want := in.LiveMemory()
			if len(want) != size {
				t.Fatalf("memory is %d bytes, want %d", len(want), size)
			}
			for i := range want {
				want[i] = byte(i*7 + i>>11)
			}
			want = bytes.Clone(want)
			for _, o := range ops {
				var stops int
				in, _, stops, err = callStopping(context.Background(), t, rt, m, in, o.name, uint64(o.d), uint64(o.s), uint64(o.n))
				var trap *TrapError
				switch {
				case o.trap && !errors.As(err, &trap):
					t.Fatalf("%s(%d, %d, %d): %v, want a trap", o.name, o.d, o.s, o.n, err)
				case !o.trap && err != nil:
					t.Fatalf("%s(%d, %d, %d): %v", o.name, o.d, o.s, o.n, err)
				case o.trap:
				case o.name == "fill":
					copy(want[o.d:o.d+o.n], bytes.Repeat([]byte{byte(o.s)}, int(o.n)))
				default:
					copy(want[o.d:o.d+o.n], want[o.s:o.s+o.n])
				}
				if !o.trap && o.n > 1<<20 && stops < 2 {
					t.Errorf("%s(%d, %d, %d) over %d chunks stopped %d times", o.name, o.d, o.s, o.n, o.n>>16, stops)
				}
				if i := firstDiff(in.LiveMemory(), want); i >= 0 {
					t.Fatalf("after %s(%d, %d, %d) (%d stops): memory differs at %d", o.name, o.d, o.s, o.n, stops, i)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestPauseInLongCallFreeLoop: a loop without calls whose body is longer
// than the work between two reads of the tick global polls at every
// iteration; it must still run its body, with pauses pending and between
// them. (A poll that found nothing once jumped back to the loop header
// instead of into the body: such a loop spun on its header forever.)
func TestPauseInLongCallFreeLoop(t *testing.T) {
	const adds, iterations = 1500, 300
	// (func (param $n i32) (result i32) (local $acc i32)
	//   (loop $l (local.set $acc (i32.add (local.get $acc) (i32.const 1))) ... adds times
	//     (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
	//   (local.get $acc))
	body := []wasm.Instr{{Op: wasm.OpLoop, Block: wasm.BlockType{}}}
	for range adds {
		body = append(body, wasm.Instr{Op: wasm.OpLocalGet, Imm: 1}, wasm.Instr{Op: wasm.OpI32Const, Imm: 1},
			wasm.Instr{Op: wasm.OpI32Add}, wasm.Instr{Op: wasm.OpLocalSet, Imm: 1})
	}
	body = append(body, wasm.Instr{Op: wasm.OpLocalGet}, wasm.Instr{Op: wasm.OpI32Const, Imm: 1}, wasm.Instr{Op: wasm.OpI32Sub},
		wasm.Instr{Op: wasm.OpLocalTee}, wasm.Instr{Op: wasm.OpBrIf}, wasm.Instr{Op: wasm.OpEnd},
		wasm.Instr{Op: wasm.OpLocalGet, Imm: 1}, wasm.Instr{Op: wasm.OpEnd})
	mod := &wasm.Module{
		Types:   []wasm.FuncType{{Params: []wasm.ValType{wasm.I32}, Results: []wasm.ValType{wasm.I32}}},
		Funcs:   []wasm.Func{{Locals: []wasm.ValType{wasm.I32}, Body: body}},
		Exports: []wasm.Export{{Name: "count", Kind: wasm.ExternFunc}},
	}
	for _, kind := range []Kind{Compiler, Interpreter} {
		t.Run(string(kind), func(t *testing.T) {
			// A loop that never ends must fail the test, not hang it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rt, m, in := startForCalls(t, Config{Kind: kind, CloseOnCancel: true}, "count", wasm.Encode(mod))
			defer func() { in.Close(context.Background()) }()
			res, err := in.Call(ctx, "count", iterations)
			if err != nil || len(res) != 1 || res[0] != adds*iterations {
				t.Fatalf("count(%d) = %v, %v; want %d", iterations, res, err, adds*iterations)
			}
			in, res, stops, err := callStopping(ctx, t, rt, m, in, "count", iterations)
			if err != nil || len(res) != 1 || res[0] != adds*iterations {
				t.Fatalf("count(%d) stopping at safe points = %v, %v; want %d", iterations, res, err, adds*iterations)
			}
			if stops < 2 {
				t.Errorf("count(%d) stopped %d times", iterations, stops)
			}
		})
	}
}
