package snapshot

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// smallSnapshot has no incompressible page, so that a test can afford to
// decode every truncation and every bit flip of it.
func smallSnapshot(t testing.TB) []byte { return encodeBytes(t, richSnapshot(false)) }

func TestEveryTruncationIsTruncated(t *testing.T) {
	b := smallSnapshot(t)
	for n := 0; n < len(b); n++ {
		_, err := Decode(bytes.NewReader(b[:n]))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: error %v, want ErrTruncated", n, len(b), err)
		}
	}
}

func TestEveryBitFlipIsDetected(t *testing.T) {
	b := smallSnapshot(t)
	flipped := make([]byte, len(b))
	for i := 0; i < len(b)*8; i++ {
		copy(flipped, b)
		flipped[i/8] ^= 1 << (i % 8)
		_, err := Decode(bytes.NewReader(flipped))
		if err == nil {
			t.Fatalf("flip of bit %d of byte %d decoded", i%8, i/8)
		}
		requireErrorIs(t, err, ErrCorrupt, ErrTruncated, ErrVersion, ErrNotSnapshot)
	}
}

// A raw chunk is read straight into guest memory; a flip in it must still
// fail the decode. Every bit would take long, so this samples bytes.
func TestBitFlipInRawChunkIsDetected(t *testing.T) {
	b := encodeBytes(t, richSnapshot(true))
	for i := 0; i < len(b); i += 61 {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		_, err := Decode(bytes.NewReader(c))
		requireErrorIs(t, err, ErrCorrupt, ErrTruncated, ErrVersion, ErrNotSnapshot)
	}
}

func TestUnknownVersionRefusedByName(t *testing.T) {
	b := smallSnapshot(t)
	le.PutUint32(b[len(magic):], 7)
	for _, read := range []func([]byte) error{
		func(b []byte) error { _, err := Decode(bytes.NewReader(b)); return err },
		func(b []byte) error { _, err := ReadHeader(bytes.NewReader(b)); return err },
	} {
		err := read(b)
		requireErrorIs(t, err, ErrVersion)
		if !strings.Contains(err.Error(), "snapshot version 7 is not supported (this build reads 1)") {
			t.Fatalf("error %q does not name the version", err)
		}
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != 7 {
			t.Fatalf("error %v is not a VersionError for 7", err)
		}
	}
}

// Magic comes before version: a file with another magic is not a snapshot,
// whatever follows.
func TestCheckOrder(t *testing.T) {
	tests := []struct {
		name string
		edit func([]byte) []byte
		want error
	}{
		{"other magic and version", func(b []byte) []byte { b[0], b[8] = 'X', 9; return b }, ErrNotSnapshot},
		{"version and bad checksum", func(b []byte) []byte { b[8], b[20] = 2, b[20]^1; return b }, ErrVersion},
		{"text file", func([]byte) []byte { return []byte("hello, world\n") }, ErrNotSnapshot},
		{"empty", func([]byte) []byte { return nil }, ErrTruncated},
		{"trailing data", func(b []byte) []byte { return append(b, 0) }, ErrCorrupt},
		{"second snapshot appended", func(b []byte) []byte { return append(b, b...) }, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tt.edit(smallSnapshot(t))))
			requireErrorIs(t, err, tt.want)
		})
	}
}

func TestCorruptErrorNamesSection(t *testing.T) {
	b := smallSnapshot(t)
	secs := splitSections(t, b)
	b[secs[0].end+sectionHeadSize] ^= 1 // first payload byte of the globals section
	_, err := Decode(bytes.NewReader(b))
	requireErrorIs(t, err, ErrCorrupt)
	if !strings.Contains(err.Error(), "section globals") || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("error %q does not name the section and the checksum", err)
	}
}
