package transform_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasm"
)

// FuzzInstrument checks that any module wazero accepts either instruments
// into a module wazero accepts too, or is refused with a *transform.Error;
// and that no input makes the transform panic.
func FuzzInstrument(f *testing.F) {
	// Small seeds only: the fuzzing engine slows to a crawl mutating large
	// inputs with wazero's compiler in the coverage-instrumented build.
	for i, p := range specFiles(f) {
		if b, _ := os.ReadFile(p); i%10 == 0 && len(b) < 2<<10 {
			f.Add(b)
		}
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wasm.Decode(b)
		if err != nil {
			return
		}
		if !wazeroAccepts(ctx, r, wasm.StripBadNames(b)) {
			return // the transform's input contract is a valid module
		}
		for _, poll := range []bool{false, true} {
			out, err := transform.Instrument(m, transform.Options{PollImport: poll})
			var te *transform.Error
			if errors.As(err, &te) {
				return
			}
			if err != nil {
				t.Fatalf("instrument: %v", err)
			}
			if _, err := r.CompileModule(ctx, wasm.Encode(out)); err != nil {
				t.Fatalf("instrumented module is invalid: %v", err)
			}
		}
	})
}

// wazeroAccepts reports whether wazero compiles b. Its v1.12.0 validator
// panics on some invalid modules (the seed d5880dc487967dde): those are
// rejected too, as the engine does.
func wazeroAccepts(ctx context.Context, r wazero.Runtime, b []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := r.CompileModule(ctx, b)
	return err == nil
}
