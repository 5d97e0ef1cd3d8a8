package transform_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasm"
)

func specFiles(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		t.Fatalf("locate wazero module: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	var files []string
	for _, v := range []string{"v1", "v2"} {
		m, _ := filepath.Glob(filepath.Join(dir, "internal/integration_test/spectest", v, "testdata", "*.wasm"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no spec test binaries found")
	}
	return files
}

// TestInstrumentSpecModulesValid instruments every spec-suite module that
// wazero accepts, in both variants, and checks that wazero accepts the output
// and that the output is deterministic.
func TestInstrumentSpecModulesValid(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer r.Close(ctx)
	var accepted, instrumented, refused int
	for _, path := range specFiles(t) {
		b, _ := os.ReadFile(path)
		if _, err := r.CompileModule(ctx, b); err != nil {
			continue
		}
		accepted++
		m, err := wasm.Decode(b)
		if err != nil {
			t.Errorf("%s: decode: %v", filepath.Base(path), err)
			continue
		}
		for _, poll := range []bool{false, true} {
			out, err := transform.Instrument(m, transform.Options{PollImport: poll})
			var te *transform.Error
			if errors.As(err, &te) {
				if !poll {
					refused++
					t.Logf("%s: refused: %v", filepath.Base(path), err)
				}
				break
			}
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
				break
			}
			enc := wasm.Encode(out)
			if _, err := r.CompileModule(ctx, enc); err != nil {
				t.Errorf("%s (poll=%v): wazero rejects the instrumented module: %v", filepath.Base(path), poll, err)
				os.WriteFile(filepath.Join(t.TempDir(), "bad.wasm"), enc, 0o644)
				break
			}
			again, _ := transform.Instrument(m, transform.Options{PollImport: poll})
			if string(wasm.Encode(again)) != string(enc) {
				t.Errorf("%s: output is not deterministic", filepath.Base(path))
			}
			if !poll {
				instrumented++
			}
		}
	}
	t.Logf("spec modules: %d accepted by wazero, %d instrumented, %d refused", accepted, instrumented, refused)
}
