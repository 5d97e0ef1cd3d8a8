package engine

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// TestUnrolledLoops: the loops of testdata/wat/loops.wat, which the
// transform unrolls, compute what they compute in stock wazero, for
// inputs around every unroll boundary, run straight and with a pause at
// every safe point (every other one moving through a snapshot).
func TestUnrolledLoops(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wat/loops.wasm")
	if err != nil {
		t.Fatal(err)
	}
	// A wrongly unrolled loop may never end: it must fail the test, not hang it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exports := []string{"squares", "collatz", "table", "result"}
	for _, kind := range []Kind{Compiler, Interpreter} {
		t.Run(string(kind), func(t *testing.T) {
			ref := wazero.NewRuntime(ctx) // "result" reads what earlier calls left in memory
			defer ref.Close(ctx)
			plain, err := ref.Instantiate(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			rt, m, in := startForCalls(t, Config{Kind: kind, CloseOnCancel: true}, "loops", b)
			defer func() { in.Close(ctx) }()
			stopped := 0
			for _, stopping := range []bool{false, true} { // a pause stays pending after a stopping call
				for _, name := range exports {
					for n := uint64(0); n <= 40; n++ {
						want, err := plain.ExportedFunction(name).Call(ctx, n)
						if err != nil {
							t.Fatalf("stock %s(%d): %v", name, n, err)
						}
						var got []uint64
						if stopping {
							var stops int
							in, got, stops, err = callStopping(ctx, t, rt, m, in, name, n)
							stopped += stops
						} else {
							got, err = in.Call(ctx, name, n)
						}
						if err != nil || len(got) != 1 || got[0] != want[0] {
							t.Fatalf("%s(%d) (stopping %v) = %v, %v; stock wazero: %v", name, n, stopping, got, err, want)
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
