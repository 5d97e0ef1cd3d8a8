package snapshot

import (
	"bytes"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	withMemory := func(pages uint32, fill func([]byte)) *Snapshot {
		s := &Snapshot{MemoryPages: pages, Memory: make([]byte, int(pages)*PageSize)}
		fill(s.Memory)
		return s
	}
	tests := []struct {
		name string
		snap *Snapshot
	}{
		{"empty", &Snapshot{}},
		{"rich", richSnapshot(false)},
		{"rich with incompressible page", richSnapshot(true)},
		{"zero memory", withMemory(5, func([]byte) {})},
		{"last byte only", withMemory(3, func(m []byte) { m[len(m)-1] = 1 })},
		{"first byte only", withMemory(3, func(m []byte) { m[0] = 1 })},
		{"unix epoch", &Snapshot{TakenAt: time.Unix(0, 0).UTC()}},
		{"deep stack", &Snapshot{Frames: deepStack(10000)}},
		{"unicode name", &Snapshot{Entry: "run", ModuleName: "ünïcode.wasm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeBytes(t, encodeBytes(t, tt.snap))
			requireEqual(t, tt.snap, got)
		})
	}
}

func deepStack(n int) []Frame {
	frames := make([]Frame, n)
	for i := range frames {
		frames[i] = Frame{Func: uint32(i % 7), Site: uint32(i), Values: []Value{{Type: TypeI64, Lo: uint64(i)}}}
	}
	return frames
}

func TestEncodeRefusesInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Snapshot)
	}{
		{"memory shorter than pages", func(s *Snapshot) { s.Memory = s.Memory[:PageSize] }},
		{"too many pages", func(s *Snapshot) { s.MemoryPages = MaxMemoryPages + 1 }},
		{"unknown value type", func(s *Snapshot) { s.Globals[0].Type = 0x40 }},
		{"upper bits on i64", func(s *Snapshot) { s.Frames[0].Values[0].Hi = 1 }},
		{"bad argument", func(s *Snapshot) { s.Args[0].Type = 0 }},
		{"table entries for size", func(s *Snapshot) { s.Tables[1].Size = 9 }},
		{"table index below null", func(s *Snapshot) { s.Tables[1].Funcs[0] = -2 }},
		{"table index above 32 bits", func(s *Snapshot) { s.Tables[1].Funcs[0] = 1 << 32 }},
		{"time out of range", func(s *Snapshot) { s.TakenAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := richSnapshot(false)
			tt.edit(s)
			requireErrorIs(t, Encode(io.Discard, s), ErrInvalid)
		})
	}
}

// Encoding is deterministic (names are sorted), so equal snapshots give
// equal bytes and a snapshot's digest can identify it.
func TestEncodeDeterministic(t *testing.T) {
	a, b := encodeBytes(t, richSnapshot(true)), encodeBytes(t, richSnapshot(true))
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of one snapshot differ")
	}
}

func TestReadHeader(t *testing.T) {
	s := richSnapshot(true)
	h, err := ReadHeader(bytes.NewReader(encodeBytes(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	want := Header{
		Version: Version, ModuleDigest: s.ModuleDigest, ModuleName: s.ModuleName,
		TransformVersion: s.TransformVersion, TakenAt: s.TakenAt, Engine: s.Engine, Stage: s.Stage,
		Entry: s.Entry, Args: s.Args, MemoryPages: s.MemoryPages,
		NumGlobals: len(s.Globals), NumTables: len(s.Tables), NumFrames: len(s.Frames),
	}
	if !reflect.DeepEqual(*h, want) {
		t.Fatalf("header\n got %+v\nwant %+v", *h, want)
	}
}

// The format must stay engine-neutral (a snapshot taken on one engine resumes
// on another) and must not pull in networking or orchestration.
func TestForbiddenDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"github.com/tetratelabs/wazero", "net/http", "net", "github.com/roam-edge/roam/internal/engine"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("snapshot depends on %s", dep)
			}
		}
	}
}
