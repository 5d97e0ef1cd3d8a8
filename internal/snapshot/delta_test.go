package snapshot

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func encodeDelta(t testing.TB, s *Snapshot, send func(int) bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := EncodeDelta(&buf, s, MemoryChunk(s.Memory, send)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDeltaRebuildsMemory sends a pre-copy round of everything, changes the
// memory (a chunk rewritten, a chunk cleared, a page grown), sends only the
// changed chunks, and expects the receiver to hold the sender's snapshot.
func TestDeltaRebuildsMemory(t *testing.T) {
	s := richSnapshot(true)
	round := &Snapshot{MemoryPages: s.MemoryPages, Memory: s.Memory}
	base, err := DecodeDelta(bytes.NewReader(encodeDelta(t, round, func(int) bool { return true })), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(base.Memory, s.Memory) {
		t.Fatal("first round did not copy the memory")
	}

	s.MemoryPages++
	s.Memory = append(s.Memory, make([]byte, PageSize)...)
	clear(s.Memory[:PageSize])                // chunk 0 becomes zero
	fillRandom(s.Memory[2*PageSize:], 2)      // chunk 2 rewritten
	copy(s.Memory[3*PageSize:], "grown page") // chunk 3 is new
	dirty := map[int]bool{0: true, 2: true, 3: true}
	got, err := DecodeDelta(bytes.NewReader(encodeDelta(t, s, func(i int) bool { return dirty[i] })), base.Memory, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("delta decoded to a different snapshot")
	}
}

func TestDeltaAndSnapshotAreNotInterchangeable(t *testing.T) {
	s := richSnapshot(false)
	if _, err := Decode(bytes.NewReader(encodeDelta(t, s, func(int) bool { return true }))); !errors.Is(err, ErrNotSnapshot) {
		t.Errorf("Decode of a delta: %v, want ErrNotSnapshot", err)
	}
	if _, err := DecodeDelta(bytes.NewReader(encodeBytes(t, s)), nil, Limits{}); !errors.Is(err, ErrNotSnapshot) {
		t.Errorf("DecodeDelta of a snapshot: %v, want ErrNotSnapshot", err)
	}
}

func TestDeltaRefusesDamage(t *testing.T) {
	s := richSnapshot(true)
	full := encodeDelta(t, s, func(int) bool { return true })
	for name, b := range map[string][]byte{
		"truncated": full[:len(full)-100],
		"flipped":   flipped(full, len(full)/2, 0x10),
	} {
		if _, err := DecodeDelta(bytes.NewReader(b), nil, Limits{}); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrTruncated or ErrCorrupt", name, err)
		}
	}
	if _, err := DecodeDelta(bytes.NewReader(full), make([]byte, 8*PageSize), Limits{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("delta smaller than the base: %v, want ErrCorrupt", err)
	}
}

func FuzzDecodeDelta(f *testing.F) {
	s := richSnapshot(false)
	f.Add(encodeDelta(f, s, func(int) bool { return true }), uint8(1))
	f.Add(encodeDelta(f, s, func(i int) bool { return i == 1 }), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, pages uint8) {
		base := make([]byte, int(pages%4)*PageSize)
		got, err := DecodeDelta(bytes.NewReader(data), base, Limits{MaxMemoryPages: 64})
		if err != nil {
			if !errors.Is(err, ErrNotSnapshot) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrTruncated) &&
				!errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrLimit) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(got.Memory) != int(got.MemoryPages)*PageSize {
			t.Fatalf("memory is %d bytes for %d pages", len(got.Memory), got.MemoryPages)
		}
	})
}

// TestDeltaLeavesOtherChunksAlone: decoding a compressed chunk must not
// touch the memory after it, in a delta or a full snapshot (whose zero
// chunks are left out). The zstd decoder uses the spare capacity of its
// destination as scratch, and a chunk slice that was not capped let it
// overwrite the next chunks (a live migration then resumed a guest with a
// corrupted page that pre-copy had sent correctly).
func TestDeltaLeavesOtherChunksAlone(t *testing.T) {
	const pages = 8
	s := &Snapshot{MemoryPages: pages, Memory: make([]byte, pages*PageSize)}
	for i := 0; i < pages; i += 2 { // compressible chunks of several kinds
		c := s.Memory[i*PageSize : (i+1)*PageSize]
		switch i % 6 {
		case 0:
			copy(c, bytes.Repeat([]byte("roam delta "), PageSize/11))
		case 2:
			for j := range c {
				c[j] = byte(j / 512)
			}
		case 4:
			fillRandom(c[:PageSize/2], uint64(i))
		}
	}
	full, err := Decode(bytes.NewReader(encodeBytes(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(full.Memory, s.Memory) {
		t.Error("a full snapshot decoded to other memory: the zero chunks after compressed ones changed")
	}
	base := bytes.Repeat([]byte{0xa5}, pages*PageSize) // what the receiver holds
	even := func(i int) bool { return i%2 == 0 }
	got, err := DecodeDelta(bytes.NewReader(encodeDelta(t, s, even)), base, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < pages; i += 2 {
		if c := got.Memory[i*PageSize : (i+1)*PageSize]; !bytes.Equal(c, bytes.Repeat([]byte{0xa5}, PageSize)) {
			t.Errorf("chunk %d, not in the delta, changed", i)
		}
	}
}
