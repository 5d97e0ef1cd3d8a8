package wasm

// StripBadNames returns b without its "name" custom sections when one of
// them is malformed, and b itself otherwise. wazero decodes the name section
// of every module it compiles and sizes allocations from its counts: a
// hostile module can make it allocate tens of GiB. A name section is only
// for people, so dropping a broken one loses nothing. Only section headers
// are read; code is not decoded.
func StripBadNames(b []byte) []byte {
	if len(b) < 8 {
		return b
	}
	r := &reader{b: b, i: 8}
	var bad [][2]int // byte ranges of malformed name sections
	for !r.done() {
		start := r.i
		id, err := r.byte()
		if err != nil {
			return b
		}
		size, err := r.u32()
		if err != nil {
			return b
		}
		s, err := r.sub(size)
		if err != nil {
			return b // a truncated module: wazero refuses it without allocating
		}
		if id == byte(SecCustom) {
			if name, err := s.name(); err == nil && name == "name" && !validNames(s) {
				bad = append(bad, [2]int{start, r.i})
			}
		}
	}
	if len(bad) == 0 {
		return b
	}
	out := append([]byte(nil), b[:bad[0][0]]...)
	for i, rg := range bad {
		end := len(b)
		if i+1 < len(bad) {
			end = bad[i+1][0]
		}
		out = append(out, b[rg[1]:end]...)
	}
	return out
}

// validNames checks every subsection of a name section: each count must be
// coverable by the bytes left, every name must fit.
func validNames(r *reader) bool {
	ok := true
	framed := eachSubsection(r, func(id byte, s *reader) bool {
		switch id {
		case 0:
			_, err := s.name()
			ok = err == nil
		case 1:
			ok = validNameMap(s)
		case 2:
			ok = validIndirectNameMap(s)
		}
		ok = ok && (id > 2 || s.done())
		return ok
	})
	return framed && ok
}

func validNameMap(r *reader) bool {
	n, err := r.count(2)
	if err != nil {
		return false
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.u32(); err != nil {
			return false
		}
		if _, err := r.name(); err != nil {
			return false
		}
	}
	return true
}

func validIndirectNameMap(r *reader) bool {
	n, err := r.count(2)
	if err != nil {
		return false
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.u32(); err != nil {
			return false
		}
		if !validNameMap(r) {
			return false
		}
	}
	return true
}
