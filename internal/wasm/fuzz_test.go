package wasm

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// addSpecSeeds adds small valid spec test binaries to the seed corpus, on
// top of the committed seeds in testdata/fuzz. It never skips: without the
// wazero module the committed seeds remain.
func addSpecSeeds(f *testing.F) {
	f.Add(mustRead(f, "testdata/features.wasm"))
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		return
	}
	n := 0
	for _, path := range findSpecFiles(strings.TrimSpace(string(out)), "v2", "threads", "tail-call") {
		b, err := os.ReadFile(path)
		if err != nil || len(b) > 4096 {
			continue
		}
		if m, err := Decode(b); err == nil && m.Validate() == nil && n < 200 {
			f.Add(b)
			n++
		}
	}
}

func mustRead(tb testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	require(tb, err == nil, "%v", err)
	return b
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// survives Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	addSpecSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			require(t, m == nil, "Decode returned a module and an error")
			return
		}
		out := Encode(m)
		m2, err := Decode(out)
		require(t, err == nil, "re-encoding does not decode: %v", err)
		require(t, reflect.DeepEqual(m, m2), "re-encoding decodes to a different module")
		require(t, bytes.Equal(Encode(m2), out), "Encode is not deterministic")
		_ = m.FuncNames()
	})
}

// FuzzWalk checks that validation never panics and that the stacks it
// reports are consistent.
func FuzzWalk(f *testing.F) {
	addSpecSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		valid := m.Validate() == nil
		for i := range m.Funcs {
			visited := 0
			err := m.WalkFunc(i, func(pc int, stack []ValType, reachable bool) {
				require(t, pc == visited, "visit pc %d, want %d", pc, visited)
				visited++
				for _, v := range stack {
					require(t, v == Unknown || valTypeNames[v] != "", "bad stack type %#x", byte(v))
				}
			})
			if err == nil {
				require(t, visited == len(m.Funcs[i].Body), "visited %d of %d instructions", visited, len(m.Funcs[i].Body))
			} else {
				require(t, !valid, "Validate accepts what WalkFunc rejects: %v", err)
			}
		}
	})
}
