package snapshot

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/cespare/xxhash/v2"
)

const (
	magic      = "ROAMSNAP"
	deltaMagic = "ROAMDLTA" // same length as magic
)

// Section ids, in the order they appear in a file.
const (
	secHeader  byte = 1
	secGlobals byte = 2
	secTables  byte = 3
	secDropped byte = 4
	secFrames  byte = 5
	secWASI    byte = 6
	secNames   byte = 7
	secMemory  byte = 8
	secTrailer byte = 0xff
)

var sectionNames = map[byte]string{
	secHeader: "header", secGlobals: "globals", secTables: "tables", secDropped: "dropped",
	secFrames: "frames", secWASI: "wasi", secNames: "names", secMemory: "memory", secTrailer: "trailer",
}

func sectionName(id byte) string {
	if n, ok := sectionNames[id]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", id)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	sectionHeadSize = 1 + 4 // id, length
	trailerSize     = 8 + 8 // bytes before the trailer, their xxhash64
	writeBufferSize = 256 << 10
)

// sink writes sections and keeps the running digest of everything written.
type sink struct {
	w     *bufio.Writer
	sum   *xxhash.Digest
	n     uint64
	err   error
	delta bool                  // writing a delta (EncodeDelta)
	tmp   [sectionHeadSize]byte // section heads and checksums, kept off the heap
}

func newSink(w io.Writer) *sink {
	return &sink{w: bufio.NewWriterSize(w, writeBufferSize), sum: xxhash.New()}
}

func (s *sink) write(p []byte) {
	if s.err != nil {
		return
	}
	_, _ = s.sum.Write(p)
	_, s.err = s.w.Write(p)
	s.n += uint64(len(p))
}

// section writes one framed section whose payload is the concatenation of
// parts, so that callers need not copy memory chunks into one buffer.
func (s *sink) section(id byte, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if uint64(n) > 1<<32-1 {
		return fmt.Errorf("section %s is %d bytes: %w", sectionName(id), n, ErrInvalid)
	}
	s.tmp[0] = id
	le.PutUint32(s.tmp[1:], uint32(n))
	crc := crc32.Update(0, castagnoli, s.tmp[:])
	s.write(s.tmp[:])
	for _, p := range parts {
		crc = crc32.Update(crc, castagnoli, p)
		s.write(p)
	}
	le.PutUint32(s.tmp[:], crc)
	s.write(s.tmp[:4])
	return s.err
}

func (s *sink) preamble() error {
	if s.delta {
		s.write([]byte(deltaMagic))
		s.write(le.AppendUint32(nil, DeltaVersion))
	} else {
		s.write([]byte(magic))
		s.write(le.AppendUint32(nil, Version))
	}
	return s.err
}

// trailer closes the file with the digest of every byte before it.
func (s *sink) trailer() error {
	var p [trailerSize]byte
	le.PutUint64(p[:], s.n)
	le.PutUint64(p[8:], s.sum.Sum64())
	if err := s.section(secTrailer, p[:]); err != nil {
		return err
	}
	return s.w.Flush()
}
