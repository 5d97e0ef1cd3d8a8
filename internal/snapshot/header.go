package snapshot

import (
	"fmt"
	"io"
	"os"
)

// The header section, first in every file:
//
//	module digest [32]byte · transform version u32 · taken-at i64 (unix ns,
//	MinInt64 for the zero time) · stage u32 · memory pages u32 ·
//	globals u32 · tables u32 · frames u32 (counts of the later sections) ·
//	module name, engine, entry (strings) · entry arguments (values)
//
// Strings and lists are a uint32 count followed by their bytes or items.

func appendHeader(b []byte, s *Snapshot) ([]byte, error) {
	taken, err := encodeTime(s.TakenAt)
	if err != nil {
		return b, err
	}
	b = append(b, s.ModuleDigest[:]...)
	b = appendU32(b, s.TransformVersion)
	b = appendU64(b, uint64(taken))
	b = appendU32(b, s.Stage)
	b = appendU32(b, s.MemoryPages)
	for _, n := range []int{len(s.Globals), len(s.Tables), len(s.Frames)} {
		if b, err = appendCount(b, n); err != nil {
			return b, err
		}
	}
	for _, str := range []string{s.ModuleName, s.Engine, s.Entry} {
		if b, err = appendString(b, str); err != nil {
			return b, err
		}
	}
	return appendValues(b, s.Args)
}

func parseHeader(p *parser) *Header {
	h := &Header{Version: Version}
	copy(h.ModuleDigest[:], p.take(len(h.ModuleDigest)))
	h.TransformVersion = p.u32()
	h.TakenAt = decodeTime(int64(p.u64()))
	h.Stage = p.u32()
	h.MemoryPages = p.u32()
	h.NumGlobals = int(p.u32())
	h.NumTables = int(p.u32())
	h.NumFrames = int(p.u32())
	h.ModuleName = p.string()
	h.Engine = p.string()
	h.Entry = p.string()
	h.Args = p.values()
	if p.err == nil && h.MemoryPages > MaxMemoryPages {
		p.fail("%d memory pages", h.MemoryPages)
	}
	return h
}

// readHeader reads the preamble and the header section.
func readHeader(src *source) (*Header, error) {
	if err := src.preamble(); err != nil {
		return nil, err
	}
	payload, err := src.section(secHeader)
	if err != nil {
		return nil, err
	}
	p := &parser{b: payload}
	h := parseHeader(p)
	if err := p.end(); err != nil {
		return nil, src.corrupt("%v", err)
	}
	return h, nil
}

// ReadHeader reads the start of a snapshot, up to and including its header
// section, and verifies the magic, the version and that section's checksum.
// It reads nothing after the header, so the rest of the file is unverified.
func ReadHeader(r io.Reader) (*Header, error) {
	h, err := readHeader(newSource(r))
	if err != nil {
		return nil, fmt.Errorf("read snapshot header: %w", err)
	}
	return h, nil
}

// ReadFileHeader is ReadHeader on the file at path.
func ReadFileHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ReadHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
