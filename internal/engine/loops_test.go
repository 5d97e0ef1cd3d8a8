package engine

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// TestUnrolledLoops: the loops of testdata/wat/loops.wat, which the
// transform unrolls, compute what they compute in stock wazero.
func TestUnrolledLoops(t *testing.T) {
	sameAsStock(t, "loops", "squares", "collatz", "table", "result")
}

// TestSunkDispatch: the functions of testdata/wat/sink.wat, whose rewind
// dispatch the transform moves past a few instructions into a block,
// compute what they compute in stock wazero.
func TestSunkDispatch(t *testing.T) {
	sameAsStock(t, "sink", "top", "nested")
}

// sameAsStock calls exports (i32 -> one result) of testdata/wat/name.wasm
// for inputs 0 to 40 on both engines, straight and with a pause at every
// safe point (every other one moving through a snapshot), and compares
// the results with stock wazero's.
func sameAsStock(t *testing.T, name string, exports ...string) {
	b, err := os.ReadFile("../../testdata/wat/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	// A wrong rewrite may loop forever: it must fail the test, not hang it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, kind := range []Kind{Compiler, Interpreter} {
		t.Run(string(kind), func(t *testing.T) {
			ref := wazero.NewRuntime(ctx) // one per run: a module may read what earlier calls left in memory
			defer ref.Close(ctx)
			plain, err := ref.Instantiate(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			rt, m, in := startForCalls(t, Config{Kind: kind, CloseOnCancel: true}, name, b)
			defer func() { in.Close(ctx) }()
			stopped := 0
			for _, stopping := range []bool{false, true} { // a pause stays pending after a stopping call
				for _, fn := range exports {
					for n := uint64(0); n <= 40; n++ {
						want, err := plain.ExportedFunction(fn).Call(ctx, n)
						if err != nil {
							t.Fatalf("stock %s(%d): %v", fn, n, err)
						}
						var got []uint64
						if stopping {
							var stops int
							in, got, stops, err = callStopping(ctx, t, rt, m, in, fn, n)
							stopped += stops
						} else {
							got, err = in.Call(ctx, fn, n)
						}
						if err != nil || len(got) != 1 || got[0] != want[0] {
							t.Fatalf("%s(%d) (stopping %v) = %v, %v; stock wazero: %v", fn, n, stopping, got, err, want)
						}
					}
				}
			}
			if stopped == 0 {
				t.Error("no call stopped at a safe point")
			}
		})
	}
}
