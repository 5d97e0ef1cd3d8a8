package snapshot

import (
	"maps"
	"math"
	"slices"
)

// The sections between the header and memory, in file order. Each has an
// appender (encode) and a parser (decode) side by side, so that the two stay
// mirror images. The parser may assume its payload passed its checksum, but
// not that it is well formed.
var bodySections = [...]struct {
	id     byte
	append func(b []byte, s *Snapshot) ([]byte, error)
	parse  func(p *parser, s *Snapshot, h *Header)
}{
	{secGlobals, appendGlobals, parseGlobals},
	{secTables, appendTables, parseTables},
	{secDropped, appendDropped, parseDropped},
	{secFrames, appendFrames, parseFrames},
	{secWASI, appendWASI, parseWASI},
	{secNames, appendNames, parseNames},
}

// globals: values.
func appendGlobals(b []byte, s *Snapshot) ([]byte, error) { return appendValues(b, s.Globals) }

func parseGlobals(p *parser, s *Snapshot, h *Header) {
	s.Globals = p.values()
	checkCount(p, "globals", len(s.Globals), h.NumGlobals)
}

// tables: count, then per table index u32 · size u32 · has-funcs u8 and, if
// set, size function indices as i64 (-1 for null).
const minTableSize = 4 + 4 + 1

func appendTables(b []byte, s *Snapshot) ([]byte, error) {
	b, err := appendCount(b, len(s.Tables))
	for _, t := range s.Tables {
		if err == nil {
			err = checkTable(t)
		}
		b = append(appendU32(appendU32(b, t.Index), t.Size), boolByte(t.Funcs != nil))
		for _, f := range t.Funcs {
			b = appendU64(b, uint64(f))
		}
	}
	return b, err
}

func parseTables(p *parser, s *Snapshot, h *Header) {
	n := p.count(minTableSize)
	for i := 0; i < n && p.err == nil; i++ {
		s.Tables = append(s.Tables, parseTable(p))
	}
	checkCount(p, "tables", len(s.Tables), h.NumTables)
}

func parseTable(p *parser) Table {
	t := Table{Index: p.u32(), Size: p.u32()}
	switch p.u8() {
	case 0:
		return t
	case 1:
	default:
		p.fail("table %d: bad has-funcs flag", t.Index)
		return t
	}
	if uint64(t.Size)*8 > uint64(len(p.b)) {
		p.fail("table %d: size %d does not fit", t.Index, t.Size)
		return t
	}
	t.Funcs = make([]int64, t.Size)
	for i := range t.Funcs {
		t.Funcs[i] = int64(p.u64())
		if t.Funcs[i] < -1 || t.Funcs[i] > math.MaxUint32 {
			p.fail("table %d: function index %d", t.Index, t.Funcs[i])
		}
	}
	return t
}

// dropped: data segment indices, then element segment indices.
func appendDropped(b []byte, s *Snapshot) ([]byte, error) {
	b, err := appendU32s(b, s.DroppedData)
	if err != nil {
		return b, err
	}
	return appendU32s(b, s.DroppedElem)
}

func parseDropped(p *parser, s *Snapshot, _ *Header) {
	s.DroppedData = p.u32s()
	s.DroppedElem = p.u32s()
}

// frames: count, then per frame func u32 · site u32 · values.
const minFrameSize = 4 + 4 + 4

func appendFrames(b []byte, s *Snapshot) ([]byte, error) {
	b, err := appendCount(b, len(s.Frames))
	for _, f := range s.Frames {
		if err != nil {
			break
		}
		b, err = appendValues(appendU32(appendU32(b, f.Func), f.Site), f.Values)
	}
	return b, err
}

func parseFrames(p *parser, s *Snapshot, h *Header) {
	n := p.count(minFrameSize)
	if n > 0 {
		s.Frames = make([]Frame, n)
	}
	for i := range s.Frames {
		s.Frames[i] = Frame{Func: p.u32(), Site: p.u32(), Values: p.values()}
	}
	checkCount(p, "frames", len(s.Frames), h.NumFrames)
}

// wasi: the opaque state, as is.
func appendWASI(b []byte, s *Snapshot) ([]byte, error) { return append(b, s.WASI...), nil }

func parseWASI(p *parser, s *Snapshot, _ *Header) {
	if len(p.b) > 0 {
		s.WASI = p.take(len(p.b))
	}
}

// names: count, then function index u32 · name, by ascending index.
func appendNames(b []byte, s *Snapshot) ([]byte, error) {
	b, err := appendCount(b, len(s.FuncNames))
	for _, idx := range slices.Sorted(maps.Keys(s.FuncNames)) {
		if err != nil {
			break
		}
		b, err = appendString(appendU32(b, idx), s.FuncNames[idx])
	}
	return b, err
}

func parseNames(p *parser, s *Snapshot, _ *Header) {
	n := p.count(4 + 4)
	var last uint32
	for i := 0; i < n && p.err == nil; i++ {
		idx, name := p.u32(), p.string()
		if i > 0 && idx <= last {
			p.fail("function names out of order at %d", idx)
		}
		if s.FuncNames == nil {
			s.FuncNames = make(map[uint32]string, min(n, 1024))
		}
		s.FuncNames[idx], last = name, idx
	}
}

func checkCount(p *parser, what string, got, want int) {
	if p.err == nil && got != want {
		p.fail("%d %s, header says %d", got, what, want)
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
