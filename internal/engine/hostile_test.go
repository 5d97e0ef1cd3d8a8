package engine

import (
	"bytes"
	"context"
	"testing"

	"github.com/roam-edge/roam/internal/wasi"
)

// A module whose name section claims billions of local names made wazero
// allocate 32 GiB and crash the process. Load drops the broken section, and
// the module runs, migratable or not.
func TestHostileNameSectionRuns(t *testing.T) {
	// (module (func (export "_start"))) followed by a name section whose
	// local-names subsection has a count of 0x80ffffff.
	mod := []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00" +
		"\x07\x0a\x01\x06_start\x00\x00\x0a\x04\x01\x02\x00\x0b" +
		"\x00\x0e\x04name\x02\x07\xff\xff\xff\x80\x04\x01\x00")
	for _, migratable := range []bool{false, true} {
		rt, err := NewRuntime(Config{Kind: Interpreter, CacheDir: t.TempDir(), NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.Load("hostile.wasm", mod, migratable)
		if err != nil {
			t.Fatalf("migratable=%v: load: %v", migratable, err)
		}
		var out bytes.Buffer
		in, err := rt.Start(context.Background(), m, wasi.Config{Args: []string{"hostile.wasm"}, Stdout: &out})
		if err != nil {
			t.Fatalf("migratable=%v: start: %v", migratable, err)
		}
		if code, err := in.Run(context.Background()); code != 0 || err != nil {
			t.Fatalf("migratable=%v: run: code %d, err %v", migratable, code, err)
		}
		in.Close(context.Background())
	}
}
