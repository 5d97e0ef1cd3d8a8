package snapshot_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/roam-edge/roam/internal/snapshot"
)

func Example() {
	s := &snapshot.Snapshot{
		ModuleName:  "app.wasm",
		TakenAt:     time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC),
		Entry:       "_start",
		Stage:       1,
		MemoryPages: 1024, // 64 MiB, almost all zero
		Memory:      make([]byte, 1024*snapshot.PageSize),
		Globals:     []snapshot.Value{{Type: snapshot.TypeI32, Lo: 42}},
		Frames:      []snapshot.Frame{{Func: 3, Site: 1}},
	}
	copy(s.Memory[4096:], "hello")

	var buf bytes.Buffer
	if err := snapshot.Encode(&buf, s); err != nil {
		panic(err)
	}
	size := buf.Len()
	h, err := snapshot.ReadHeader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s at %s: %d pages, %d frame(s)\n", h.ModuleName, h.Entry, h.MemoryPages, h.NumFrames)

	got, err := snapshot.Decode(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s, file under 4 KiB: %v\n", got.Memory[4096:4101], size < 4096)
	// Output:
	// app.wasm at _start: 1024 pages, 1 frame(s)
	// hello, file under 4 KiB: true
}
