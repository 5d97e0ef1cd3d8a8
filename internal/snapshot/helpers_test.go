package snapshot

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// richSnapshot exercises every field: a memory with a compressible page, a
// zero page and, if random, an incompressible page. richSnapshot(true) is what
// testdata/v1.snap holds: changing it breaks TestFixtures, on purpose.
func richSnapshot(random bool) *Snapshot {
	pages := uint32(2)
	if random {
		pages = 3
	}
	s := &Snapshot{
		ModuleDigest:     [32]byte{0: 0xde, 1: 0xad, 31: 0xef},
		ModuleName:       "testdata/kernel.wasm",
		TransformVersion: 3,
		TakenAt:          time.Date(2026, 11, 26, 12, 30, 45, 123456789, time.UTC),
		Engine:           "compiler",
		Stage:            1,
		Entry:            "_start",
		Args:             []Value{{Type: TypeI32, Lo: 7}},
		MemoryPages:      pages,
		Memory:           make([]byte, int(pages)*PageSize),
		Globals: []Value{
			{Type: TypeI32, Lo: 0xffff_ffff}, {Type: TypeI64, Lo: 1 << 63}, {Type: TypeF32, Lo: 0x3f80_0000},
			{Type: TypeF64, Lo: 0x4009_21fb_5444_2d18}, {Type: TypeV128, Lo: 1, Hi: 2},
			{Type: TypeFuncRef, Lo: 5}, {Type: TypeExternRef},
		},
		Tables: []Table{
			{Index: 0, Size: 4},
			{Index: 1, Size: 3, Funcs: []int64{-1, 0, 4294967295}},
		},
		DroppedData: []uint32{0, 2},
		DroppedElem: []uint32{1},
		Frames: []Frame{
			{Func: 12, Site: 0, Values: []Value{{Type: TypeI32, Lo: 1}}},
			{Func: 40, Site: 3},
			{Func: 41, Site: 9, Values: []Value{{Type: TypeV128, Lo: ^uint64(0), Hi: 3}, {Type: TypeF64, Lo: 9}}},
		},
		WASI:      []byte("wasi-state-v1\x00\x01\x02"),
		FuncNames: map[uint32]string{12: "main", 40: "loop", 41: "kernel"},
	}
	copy(s.Memory, bytes.Repeat([]byte("roam snapshot "), PageSize/14))
	if random {
		fillRandom(s.Memory[2*PageSize:], 1)
	}
	return s
}

func fillRandom(b []byte, seed uint64) {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	_, _ = r.Read(b)
}

func encodeBytes(t testing.TB, s *Snapshot) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeBytes(t testing.TB, b []byte) *Snapshot {
	t.Helper()
	s, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func requireEqual(t testing.TB, want, got *Snapshot) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("snapshots differ:\nwant %+v\n got %+v", summary(want), summary(got))
	}
}

// summary keeps failure messages readable: memory is shown by length only.
func summary(s *Snapshot) Snapshot {
	c := *s
	c.Memory = nil
	return c
}

func requireErrorIs(t testing.TB, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("error %v, want one of %v", err, targets)
}
