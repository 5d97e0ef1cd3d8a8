package wasm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// secTag is the exception-handling proposal's tag section, refused.
const secTag = 13

// maxLocals bounds the declared locals of one function, as wazero does.
const maxLocals = 50000

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory",
	"global", "export", "start", "element", "code", "data", "data count"}

func (id SectionID) String() string {
	if int(id) < len(sectionNames) {
		return sectionNames[id]
	}
	return fmt.Sprintf("unknown (%d)", byte(id))
}

// sectionRank orders the known sections; the data count section sits
// between the element and the code sections.
func sectionRank(id SectionID) int {
	switch id {
	case SecDataCount:
		return 10
	case SecCode, SecData:
		return int(id) + 1
	}
	return int(id)
}

// Decode parses a binary module. It checks the binary format (malformed
// modules) but not validity; see Validate and WalkFunc.
func Decode(b []byte) (*Module, error) {
	if len(b) < 4 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("invalid magic number")
	}
	if len(b) < 8 || binary.LittleEndian.Uint32(b[4:8]) != 1 {
		return nil, errors.New("unknown binary version")
	}
	d := &decoder{m: &Module{}}
	r := &reader{b: b, i: 8}
	for !r.done() {
		if err := d.section(r); err != nil {
			return nil, err
		}
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return d.m, nil
}

type decoder struct {
	m        *Module
	last     SectionID // last known section seen
	codeSeen bool
	dataSeen bool
}

func (d *decoder) section(r *reader) error {
	at := r.offset()
	id, err := r.byte()
	if err != nil {
		return err
	}
	size, err := r.u32()
	if err != nil {
		return fmt.Errorf("section header: %w", err)
	}
	s, err := r.sub(size)
	if err != nil {
		return fmt.Errorf("%s section: section size %d is larger than the module: %w", SectionID(id), size, err)
	}
	sid := SectionID(id)
	if sid == SecCustom {
		return d.custom(s)
	}
	if id == secTag {
		return fmt.Errorf("exception handling (tag section) is %w (offset %#x)", ErrUnsupported, at)
	}
	if id > byte(SecDataCount) {
		return fmt.Errorf("unknown section id %d at offset %#x", id, at)
	}
	if d.last != SecCustom && sectionRank(sid) <= sectionRank(d.last) {
		return fmt.Errorf("%s section at offset %#x: section out of order or duplicated", sid, at)
	}
	d.last = sid
	if err := d.known(sid, s); err != nil {
		return fmt.Errorf("%s section: %w", sid, err)
	}
	if !s.done() {
		return fmt.Errorf("%s section: section size mismatch: %d unread bytes at offset %#x", sid, s.left(), s.offset())
	}
	if d.empty(sid) {
		d.m.KeepEmpty |= 1 << sid
	}
	return nil
}

func (d *decoder) custom(s *reader) error {
	name, err := s.name()
	if err != nil {
		return fmt.Errorf("custom section: %w", err)
	}
	data, _ := s.bytes(uint32(s.left()))
	d.m.Customs = append(d.m.Customs, Custom{Name: name, Data: data, After: d.last})
	return nil
}

func (d *decoder) known(id SectionID, s *reader) error {
	m := d.m
	switch id {
	case SecType:
		return vec(s, 3, &m.Types, readFuncType)
	case SecImport:
		return vec(s, 4, &m.Imports, readImport)
	case SecFunction:
		return vec(s, 1, &m.Funcs, func(r *reader) (f Func, err error) {
			f.TypeIdx, err = r.u32()
			return f, err
		})
	case SecTable:
		return vec(s, 3, &m.Tables, readTableType)
	case SecMemory:
		return vec(s, 2, &m.Memories, readMemLimits)
	case SecGlobal:
		return vec(s, 3, &m.Globals, readGlobal)
	case SecExport:
		return vec(s, 3, &m.Exports, readExport)
	case SecStart:
		idx, err := s.u32()
		m.Start = &idx
		return err
	case SecElement:
		return vec(s, 3, &m.Elems, readElem)
	case SecCode:
		d.codeSeen = true
		return d.code(s)
	case SecData:
		d.dataSeen = true
		return vec(s, 2, &m.Datas, readData)
	case SecDataCount:
		n, err := s.u32()
		m.DataCount = &n
		return err
	}
	return nil
}

// empty reports whether a decoded section holds nothing, so that it would
// not be written by the encoder unless KeepEmpty says so.
func (d *decoder) empty(id SectionID) bool {
	m := d.m
	switch id {
	case SecType:
		return len(m.Types) == 0
	case SecImport:
		return len(m.Imports) == 0
	case SecFunction, SecCode:
		return len(m.Funcs) == 0
	case SecTable:
		return len(m.Tables) == 0
	case SecMemory:
		return len(m.Memories) == 0
	case SecGlobal:
		return len(m.Globals) == 0
	case SecExport:
		return len(m.Exports) == 0
	case SecElement:
		return len(m.Elems) == 0
	case SecData:
		return len(m.Datas) == 0
	}
	return false
}

func (d *decoder) finish() error {
	m := d.m
	if !d.codeSeen && len(m.Funcs) > 0 {
		return fmt.Errorf("function and code section have inconsistent lengths: %d functions, no code section", len(m.Funcs))
	}
	if m.DataCount != nil && int64(*m.DataCount) != int64(len(m.Datas)) {
		return fmt.Errorf("data count and data section have inconsistent lengths: %d and %d", *m.DataCount, len(m.Datas))
	}
	return nil
}

// vec reads a vector whose elements take at least min bytes each.
func vec[T any](r *reader, min int, out *[]T, read func(*reader) (T, error)) error {
	n, err := r.count(min)
	if err != nil {
		return err
	}
	s := make([]T, 0, n)
	for i := uint32(0); i < n; i++ {
		v, err := read(r)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		s = append(s, v)
	}
	*out = s
	return nil
}

func (d *decoder) code(s *reader) error {
	m := d.m
	n, err := s.count(2)
	if err != nil {
		return err
	}
	if int64(n) != int64(len(m.Funcs)) {
		return fmt.Errorf("function and code section have inconsistent lengths: %d and %d", len(m.Funcs), n)
	}
	imported := uint32(m.NumImported(ExternFunc))
	var scratch []Instr
	for i := range m.Funcs {
		if err := readCode(s, &m.Funcs[i], &scratch); err != nil {
			return fmt.Errorf("function %d: %w", imported+uint32(i), err)
		}
	}
	return nil
}

func readCode(s *reader, f *Func, scratch *[]Instr) error {
	size, err := s.u32()
	if err != nil {
		return err
	}
	r, err := s.sub(size)
	if err != nil {
		return err
	}
	if f.Locals, err = readLocals(r); err != nil {
		return err
	}
	if f.Body, err = readExprBuf(r, scratch); err != nil {
		return err
	}
	if !r.done() {
		return r.errorf("function body continues after its final end")
	}
	return nil
}

func readLocals(r *reader) ([]ValType, error) {
	n, err := r.count(2)
	if err != nil {
		return nil, err
	}
	var locals []ValType
	total := uint64(0)
	for i := uint32(0); i < n; i++ {
		c, err := r.u32()
		if err != nil {
			return nil, err
		}
		t, err := readValType(r)
		if err != nil {
			return nil, err
		}
		if total += uint64(c); total > maxLocals {
			return nil, r.errorf("too many locals: more than %d", maxLocals)
		}
		for j := uint32(0); j < c; j++ {
			locals = append(locals, t)
		}
	}
	return locals, nil
}
