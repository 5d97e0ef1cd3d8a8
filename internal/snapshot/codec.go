package snapshot

import (
	"fmt"
	"io"
	"math"
)

// Encode writes s to w in the current format. It streams: memory goes out one
// chunk at a time and no copy of the whole snapshot is ever built. On error,
// w may hold a partial snapshot, which Decode refuses; WriteFile never leaves
// one behind. Encode and Decode are safe for concurrent use.
func Encode(w io.Writer, s *Snapshot) error {
	if err := encode(w, s); err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	return nil
}

func encode(w io.Writer, s *Snapshot) error {
	if err := checkMemory(s); err != nil {
		return err
	}
	out := newSink(w)
	return encodeTo(out, s, func() error { return writeMemory(out, s.Memory) })
}

// encodeTo writes the preamble, the header and body sections, memory (as
// memory writes it) and the trailer.
func encodeTo(out *sink, s *Snapshot, memory func() error) error {
	if err := out.preamble(); err != nil {
		return err
	}
	if err := writeSection(out, s, secHeader, appendHeader); err != nil {
		return err
	}
	for _, sec := range bodySections {
		if err := writeSection(out, s, sec.id, sec.append); err != nil {
			return err
		}
	}
	if err := memory(); err != nil {
		return err
	}
	return out.trailer()
}

func writeSection(out *sink, s *Snapshot, id byte, build func([]byte, *Snapshot) ([]byte, error)) error {
	payload, err := build(nil, s)
	if err != nil {
		return fmt.Errorf("section %s: %w", sectionName(id), err)
	}
	return out.section(id, payload)
}

// Limits bound what a decoder accepts beyond what the format itself allows.
type Limits struct {
	// MaxMemoryPages refuses snapshots of a larger memory before allocating
	// it; 0 means MaxMemoryPages (4 GiB, the most a 32-bit memory can hold).
	MaxMemoryPages uint32
}

// Decode reads a whole snapshot from r, verifying the magic, the version,
// every section checksum and the trailer digest as it streams, and returns
// nothing unless all of them pass and r ends right after the trailer.
// Allocation follows the bytes actually read, except for guest memory, which
// is allocated at the size the verified header declares.
func Decode(r io.Reader) (*Snapshot, error) {
	return DecodeLimited(r, Limits{})
}

// DecodeLimited is Decode with limits on what it accepts.
func DecodeLimited(r io.Reader, lim Limits) (*Snapshot, error) {
	s, err := decode(newSource(r), lim, freshMemory)
	if err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return s, nil
}

// freshMemory allocates the zeroed memory a full snapshot fills.
func freshMemory(pages uint32) ([]byte, error) {
	if pages == 0 {
		return nil, nil
	}
	return make([]byte, int(pages)*PageSize), nil
}

func decode(src *source, lim Limits, memory func(pages uint32) ([]byte, error)) (*Snapshot, error) {
	h, err := readHeader(src)
	if err != nil {
		return nil, err
	}
	if limit := lim.maxPages(); h.MemoryPages > limit || uint64(h.MemoryPages)*PageSize > math.MaxInt {
		return nil, fmt.Errorf("memory of %d pages is over the limit of %d: %w", h.MemoryPages, limit, ErrLimit)
	}
	s := fromHeader(h)
	if s.Memory, err = memory(h.MemoryPages); err != nil {
		return nil, err
	}
	if err := readBody(src, s, h); err != nil {
		return nil, err
	}
	if err := readMemory(src, s.Memory); err != nil {
		return nil, err
	}
	if src.id != secTrailer {
		return nil, src.corrupt("expected section %s", sectionName(secTrailer))
	}
	if err := src.trailer(); err != nil {
		return nil, err
	}
	return s, nil
}

func readBody(src *source, s *Snapshot, h *Header) error {
	for _, sec := range bodySections {
		payload, err := src.section(sec.id)
		if err != nil {
			return err
		}
		p := &parser{b: payload}
		sec.parse(p, s, h)
		if err := p.end(); err != nil {
			return src.corrupt("%v", err)
		}
	}
	return nil
}

func (l Limits) maxPages() uint32 {
	if l.MaxMemoryPages == 0 || l.MaxMemoryPages > MaxMemoryPages {
		return MaxMemoryPages
	}
	return l.MaxMemoryPages
}

func fromHeader(h *Header) *Snapshot {
	return &Snapshot{
		ModuleDigest:     h.ModuleDigest,
		ModuleName:       h.ModuleName,
		TransformVersion: h.TransformVersion,
		TakenAt:          h.TakenAt,
		Engine:           h.Engine,
		Stage:            h.Stage,
		Entry:            h.Entry,
		Args:             h.Args,
		MemoryPages:      h.MemoryPages,
	}
}
