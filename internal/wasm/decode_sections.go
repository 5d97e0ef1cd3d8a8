package wasm

import "fmt"

// externTag is the exception-handling proposal's tag import/export kind.
const externTag ExternKind = 4

func readValType(r *reader) (ValType, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch t := ValType(c); t {
	case I32, I64, F32, F64, V128, FuncRef, ExternRef:
		return t, nil
	}
	r.i--
	if c == 0x69 {
		return 0, r.errorf("exception handling (exnref) is %w", ErrUnsupported)
	}
	return 0, r.errorf("invalid value type %#x", c)
}

func readRefType(r *reader) (ValType, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	if t := ValType(c); t.IsRef() {
		return t, nil
	}
	r.i--
	return 0, r.errorf("invalid reference type %#x", c)
}

func readValTypes(r *reader) ([]ValType, error) {
	var ts []ValType
	err := vec(r, 1, &ts, readValType)
	if len(ts) == 0 {
		ts = nil
	}
	return ts, err
}

func readFuncType(r *reader) (ft FuncType, err error) {
	c, err := r.byte()
	if err != nil {
		return ft, err
	}
	if c != 0x60 {
		return ft, fmt.Errorf("invalid function type form %#x at offset %#x", c, r.offset()-1)
	}
	if ft.Params, err = readValTypes(r); err != nil {
		return ft, fmt.Errorf("params: %w", err)
	}
	if ft.Results, err = readValTypes(r); err != nil {
		return ft, fmt.Errorf("results: %w", err)
	}
	return ft, nil
}

// readLimits reads limits; memory says whether the shared and 64-bit flags
// may appear.
func readLimits(r *reader, memory bool) (l Limits, err error) {
	at := r.offset()
	flags, err := r.byte()
	if err != nil {
		return l, err
	}
	switch {
	case memory && flags >= 4 && flags <= 7:
		return l, fmt.Errorf("memory64 is %w (limits flags %#x at offset %#x)", ErrUnsupported, flags, at)
	case flags > 3 || (!memory && flags > 1):
		return l, fmt.Errorf("invalid limits flags %#x at offset %#x", flags, at)
	}
	l.HasMax, l.Shared = flags&1 != 0, flags&2 != 0
	min, err := r.u32()
	if err != nil {
		return l, err
	}
	l.Min = uint64(min)
	if l.HasMax {
		max, err := r.u32()
		if err != nil {
			return l, err
		}
		l.Max = uint64(max)
	}
	return l, nil
}

func readMemLimits(r *reader) (Limits, error) { return readLimits(r, true) }

func readTableType(r *reader) (t TableType, err error) {
	if t.Elem, err = readRefType(r); err != nil {
		return t, err
	}
	t.Limits, err = readLimits(r, false)
	return t, err
}

func readGlobalType(r *reader) (g GlobalType, err error) {
	if g.Type, err = readValType(r); err != nil {
		return g, err
	}
	mut, err := r.byte()
	if err != nil {
		return g, err
	}
	if mut > 1 {
		return g, fmt.Errorf("invalid global mutability %#x at offset %#x", mut, r.offset()-1)
	}
	g.Mutable = mut == 1
	return g, nil
}

func readImport(r *reader) (im Import, err error) {
	if im.Module, err = r.name(); err != nil {
		return im, err
	}
	if im.Name, err = r.name(); err != nil {
		return im, err
	}
	kind, err := r.byte()
	if err != nil {
		return im, err
	}
	im.Kind = ExternKind(kind)
	switch im.Kind {
	case ExternFunc:
		im.TypeIdx, err = r.u32()
	case ExternTable:
		im.Table, err = readTableType(r)
	case ExternMemory:
		im.Memory, err = readLimits(r, true)
	case ExternGlobal:
		im.Global, err = readGlobalType(r)
	case externTag:
		err = fmt.Errorf("exception handling (tag import) is %w (offset %#x)", ErrUnsupported, r.offset()-1)
	default:
		err = fmt.Errorf("invalid import kind %#x at offset %#x", kind, r.offset()-1)
	}
	return im, err
}

func readExport(r *reader) (ex Export, err error) {
	if ex.Name, err = r.name(); err != nil {
		return ex, err
	}
	kind, err := r.byte()
	if err != nil {
		return ex, err
	}
	if kind == byte(externTag) {
		return ex, fmt.Errorf("exception handling (tag export) is %w (offset %#x)", ErrUnsupported, r.offset()-1)
	}
	if kind > byte(ExternGlobal) {
		return ex, fmt.Errorf("invalid export kind %#x at offset %#x", kind, r.offset()-1)
	}
	ex.Kind = ExternKind(kind)
	ex.Index, err = r.u32()
	return ex, err
}

func readGlobal(r *reader) (g Global, err error) {
	if g.Type, err = readGlobalType(r); err != nil {
		return g, err
	}
	g.Init, err = readExpr(r)
	return g, err
}

func readElem(r *reader) (e Elem, err error) {
	at := r.offset()
	if e.Flags, err = r.u32(); err != nil {
		return e, err
	}
	if e.Flags > 7 {
		return e, fmt.Errorf("invalid element segment flags %#x at offset %#x", e.Flags, at)
	}
	switch {
	case e.Flags&1 == 0:
		e.Mode = SegActive
	case e.Flags&2 == 0:
		e.Mode = SegPassive
	default:
		e.Mode = SegDeclarative
	}
	if e.Mode == SegActive {
		if e.Flags&2 != 0 {
			if e.Table, err = r.u32(); err != nil {
				return e, err
			}
		}
		if e.Offset, err = readExpr(r); err != nil {
			return e, err
		}
	}
	if err = readElemType(r, &e); err != nil {
		return e, err
	}
	if e.Flags&4 != 0 {
		err = vec(r, 1, &e.Exprs, readExpr)
	} else {
		err = vec(r, 1, &e.Funcs, func(r *reader) (uint32, error) { return r.u32() })
	}
	return e, err
}

// readElemType reads the element kind (function indices) or reference type
// (expressions), which flags 0 and 4 leave implicit.
func readElemType(r *reader, e *Elem) (err error) {
	e.Type = FuncRef
	switch {
	case e.Flags&3 == 0:
		return nil
	case e.Flags&4 != 0:
		e.Type, err = readRefType(r)
		return err
	}
	kind, err := r.byte()
	if err == nil && kind != 0 {
		err = fmt.Errorf("invalid element kind %#x at offset %#x", kind, r.offset()-1)
	}
	return err
}

func readData(r *reader) (d Data, err error) {
	at := r.offset()
	if d.Flags, err = r.u32(); err != nil {
		return d, err
	}
	switch d.Flags {
	case 0, 2:
		if d.Flags == 2 {
			if d.Memory, err = r.u32(); err != nil {
				return d, err
			}
		}
		if d.Offset, err = readExpr(r); err != nil {
			return d, err
		}
	case 1:
		d.Mode = SegPassive
	default:
		return d, fmt.Errorf("invalid data segment flags %#x at offset %#x", d.Flags, at)
	}
	n, err := r.count(1)
	if err != nil {
		return d, err
	}
	d.Init, err = r.bytes(n)
	return d, err
}

// parseFuncNames reads the function names (subsection 1) of a name section.
// On malformed input it returns the names read so far, or nil.
func parseFuncNames(data []byte) map[uint32]string {
	var names map[uint32]string
	eachSubsection(&reader{b: data}, func(id byte, s *reader) bool {
		if id == 1 {
			names = readNameMap(s)
			return false
		}
		return true
	})
	return names
}

// eachSubsection calls fn with every subsection (id, contents) of a name
// section until fn returns false; it reports false if the framing is broken.
func eachSubsection(r *reader, fn func(id byte, s *reader) bool) bool {
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return false
		}
		size, err := r.u32()
		if err != nil {
			return false
		}
		s, err := r.sub(size)
		if err != nil {
			return false
		}
		if !fn(id, s) {
			return true
		}
	}
	return true
}

func readNameMap(r *reader) map[uint32]string {
	n, err := r.count(2)
	if err != nil {
		return nil
	}
	var names map[uint32]string
	for i := uint32(0); i < n; i++ {
		idx, err := r.u32()
		if err != nil {
			break
		}
		name, err := r.name()
		if err != nil {
			break
		}
		if names == nil {
			names = make(map[uint32]string)
		}
		names[idx] = name
	}
	return names
}
