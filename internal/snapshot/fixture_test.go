package snapshot

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the current version's fixture in testdata/")

// Each format version keeps a committed file that must go on decoding to the
// same snapshot for as long as the decoder reads that version. Regenerate
// only the current version's file, only on purpose:
//
//	go test ./internal/snapshot -run TestFixture -update
var fixtures = []struct {
	path    string
	version uint32
	want    func() *Snapshot
}{
	{"testdata/v1.snap", 1, func() *Snapshot { return richSnapshot(true) }},
}

func TestFixtures(t *testing.T) {
	if *update {
		if err := WriteFile(filepath.FromSlash(fixtures[len(fixtures)-1].path), fixtures[len(fixtures)-1].want()); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fixtures {
		t.Run(f.path, func(t *testing.T) {
			got, err := ReadFile(filepath.FromSlash(f.path))
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, f.want(), got)
			h, err := ReadFileHeader(filepath.FromSlash(f.path))
			if err != nil || h.Version != f.version {
				t.Fatalf("header %+v, error %v", h, err)
			}
		})
	}
}

func TestFixtureIsCurrentVersion(t *testing.T) {
	if last := fixtures[len(fixtures)-1]; last.version != Version {
		t.Fatalf("no fixture for version %d: add one with -update", Version)
	}
	if _, err := os.Stat(filepath.FromSlash(fixtures[0].path)); err != nil {
		t.Fatal(err)
	}
}

// fuzzLimits keeps a hostile header from making each run allocate 4 GiB.
var fuzzLimits = Limits{MaxMemoryPages: 16}

func FuzzDecode(f *testing.F) {
	fixture, err := os.ReadFile("testdata/v1.snap")
	if err != nil {
		f.Fatal(err)
	}
	small := smallSnapshot(f)
	for _, seed := range [][]byte{
		fixture, small, encodeBytes(f, &Snapshot{}),
		small[:len(small)/2], append(bytes.Clone(small), 0),
		flipped(small, 9, 0x01), flipped(small, 40, 0x80), flipped(fixture, 1000, 0x04),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data) })
}

// FuzzSections reaches past the checksums: the input is a list of sections
// (id u8 · length u32 · payload, without checksums), framed with valid
// checksums and trailer before decoding.
func FuzzSections(f *testing.F) {
	for _, s := range []*Snapshot{richSnapshot(false), {}} {
		var seed []byte
		for _, sec := range splitSections(f, encodeBytes(f, s)) {
			seed = append(appendU32(append(seed, sec.id), uint32(len(sec.payload))), sec.payload...)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var secs []rawSection
		for len(data) >= sectionHeadSize {
			n := min(int(le.Uint32(data[1:])), len(data)-sectionHeadSize)
			secs = append(secs, rawSection{id: data[0], payload: data[sectionHeadSize : sectionHeadSize+n]})
			data = data[sectionHeadSize+n:]
		}
		checkDecode(t, frameSections(t, secs))
	})
}

// checkDecode: decoding never panics, fails only with the package's errors,
// agrees with ReadHeader, and what it accepts survives a round trip.
func checkDecode(t *testing.T, data []byte) {
	s, err := DecodeLimited(bytes.NewReader(data), fuzzLimits)
	h, herr := ReadHeader(bytes.NewReader(data))
	if err != nil {
		requireErrorIs(t, err, ErrCorrupt, ErrTruncated, ErrVersion, ErrNotSnapshot, ErrLimit)
		return
	}
	if herr != nil || h.NumFrames != len(s.Frames) || h.MemoryPages != s.MemoryPages {
		t.Fatalf("Decode accepted what ReadHeader read as %+v, %v", h, herr)
	}
	requireEqual(t, s, decodeBytes(t, encodeBytes(t, s)))
}

func flipped(b []byte, i int, mask byte) []byte {
	c := bytes.Clone(b)
	c[i] ^= mask
	return c
}
