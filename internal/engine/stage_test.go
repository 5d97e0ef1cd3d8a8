package engine

import (
	"context"
	"os"
	"slices"
	"testing"
)

// TestStagedMemoryStartsZero: a delta's receiver holds zeros where no chunk
// arrived, so a staged instance's memory must not keep the bytes that
// instantiation wrote from the data segments (they come with the memory).
func TestStagedMemoryStartsZero(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wasm/c-demo.wasm")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := NewRuntime(Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Load("demo", b, true)
	if err != nil {
		t.Fatal(err)
	}
	in, err := rt.Stage(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	mem := in.LiveMemory()
	if len(mem) == 0 {
		t.Fatal("c-demo has no memory")
	}
	if i := slices.IndexFunc(mem, func(b byte) bool { return b != 0 }); i >= 0 {
		t.Errorf("staged memory has a non-zero byte at %d", i)
	}
}
