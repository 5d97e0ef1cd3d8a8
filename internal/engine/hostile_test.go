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

// A function body with an out-of-range type index made wazero v1.12.0's
// validator panic (found by FuzzInstrument); the engine reports an invalid
// module instead, in both modes.
func TestModuleThatPanicsWazeroIsRefused(t *testing.T) {
	mod := []byte("\x00asm\x01\x00\x00\x00\x01\x17\x03`\x04||||\x01|`\x03|||\x01|`\x03}}}\x01}\x03\x04\x03\x0000" +
		"\a\"\x03\b00000000\x00\x00\b00000001\x00\x01\b00000002\x00\x02\n%\x03\r\x00A0A0x\x10\x02A0XX\v" +
		"\n\x000000\xa200X\v\n\x000000\x9400X\v")
	for _, migratable := range []bool{false, true} {
		rt, err := NewRuntime(Config{CacheDir: t.TempDir(), NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.Load("bad.wasm", mod, migratable)
		if err == nil {
			_, err = rt.Start(context.Background(), m, wasi.Config{Args: []string{"bad.wasm"}})
		}
		if err == nil {
			t.Errorf("migratable=%v: an invalid module loaded and started", migratable)
		}
	}
}
