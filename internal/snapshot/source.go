package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// readStep bounds how far a payload buffer grows ahead of the bytes actually
// read, so that a length field alone cannot make the decoder allocate.
const readStep = 1 << 20

// readBufferSize is well under a memory chunk, so that most of a raw chunk is
// read straight into guest memory instead of through the buffer.
const readBufferSize = 16 << 10

// source reads sections, verifying each checksum, and keeps the running digest
// of everything read for the trailer.
type source struct {
	r     *bufio.Reader
	sum   *xxhash.Digest
	off   uint64 // bytes read so far
	delta bool   // reading a delta (DecodeDelta)

	// The section being read.
	id     byte
	n      uint32
	start  uint64 // offset of its first byte
	before uint64 // digest of all bytes before it
	crc    uint32

	tmp [len(magic)]byte // small fixed reads, kept off the heap
}

func newSource(r io.Reader) *source {
	return &source{r: bufio.NewReaderSize(r, readBufferSize), sum: xxhash.New()}
}

func (s *source) read(p []byte) error {
	k, err := io.ReadFull(s.r, p)
	_, _ = s.sum.Write(p[:k])
	s.crc = crc32.Update(s.crc, castagnoli, p[:k])
	s.off += uint64(k)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("input ends at byte %d: %w", s.off, ErrTruncated)
	}
	if err != nil {
		return fmt.Errorf("read snapshot at byte %d: %w", s.off, err)
	}
	return nil
}

// preamble checks the magic, then the version.
func (s *source) preamble() error {
	want, version := magic, uint32(Version)
	if s.delta {
		want, version = deltaMagic, DeltaVersion
	}
	err := s.read(s.tmp[:])
	got := string(s.tmp[:s.off])
	switch {
	case err != nil && !errors.Is(err, ErrTruncated):
		return err
	case !strings.HasPrefix(want, got):
		return fmt.Errorf("%w (starts with %q)", ErrNotSnapshot, got)
	case err != nil:
		return err
	}
	if err := s.read(s.tmp[:4]); err != nil {
		return err
	}
	if got := le.Uint32(s.tmp[:]); got != version {
		return &VersionError{Version: got}
	}
	return nil
}

// open reads the head of the next section.
func (s *source) open() error {
	s.start, s.before, s.crc = s.off, s.sum.Sum64(), 0
	h := s.tmp[:sectionHeadSize]
	if err := s.read(h); err != nil {
		return err
	}
	s.id, s.n = h[0], le.Uint32(h[1:])
	return nil
}

// expect opens the next section and requires it to be id.
func (s *source) expect(id byte) error {
	if err := s.open(); err != nil {
		return err
	}
	if s.id != id {
		return s.corrupt("expected section %s", sectionName(id))
	}
	return nil
}

// payload reads the whole payload of the open section.
func (s *source) payload() ([]byte, error) {
	n := uint64(s.n)
	buf := make([]byte, 0, min(n, readStep))
	for uint64(len(buf)) < n {
		k := int(min(n-uint64(len(buf)), readStep))
		buf = slices.Grow(buf, k)
		if err := s.read(buf[len(buf) : len(buf)+k]); err != nil {
			return nil, err
		}
		buf = buf[:len(buf)+k]
	}
	return buf, nil
}

// close reads the checksum of the open section and compares it.
func (s *source) close() error {
	want := s.crc
	if err := s.read(s.tmp[:4]); err != nil {
		return err
	}
	if le.Uint32(s.tmp[:]) != want {
		return s.corrupt("checksum mismatch")
	}
	return nil
}

// section reads a whole section that must be id and returns its payload.
func (s *source) section(id byte) ([]byte, error) {
	if err := s.expect(id); err != nil {
		return nil, err
	}
	p, err := s.payload()
	if err != nil {
		return nil, err
	}
	return p, s.close()
}

func (s *source) corrupt(format string, args ...any) error {
	return fmt.Errorf("section %s at byte %d: %s: %w",
		sectionName(s.id), s.start, fmt.Sprintf(format, args...), ErrCorrupt)
}

// trailer checks the digest of everything before the trailer and that
// nothing follows it. The trailer section must already be open.
func (s *source) trailer() error {
	if s.n != trailerSize {
		return s.corrupt("length %d", s.n)
	}
	length, digest := s.start, s.before
	p, err := s.payload()
	if err == nil {
		err = s.close()
	}
	if err != nil {
		return err
	}
	if le.Uint64(p) != length || le.Uint64(p[8:]) != digest {
		return s.corrupt("digest of the first %d bytes does not match", length)
	}
	return s.eof()
}

func (s *source) eof() error {
	_, err := s.r.ReadByte()
	if err == nil {
		return fmt.Errorf("data after the trailer at byte %d: %w", s.off, ErrCorrupt)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("read snapshot at byte %d: %w", s.off, err)
}
