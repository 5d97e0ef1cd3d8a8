package wasi

import "encoding/binary"

var le = binary.LittleEndian

// view returns n bytes of guest memory at off.
func view(mem Memory, off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > 1<<32 {
		return nil, false
	}
	return mem.Read(off, n)
}

func readU32(mem Memory, off uint32) (uint32, bool) {
	b, ok := view(mem, off, 4)
	if !ok {
		return 0, false
	}
	return le.Uint32(b), true
}

func writeU32(mem Memory, off, v uint32) bool {
	var b [4]byte
	le.PutUint32(b[:], v)
	return mem.Write(off, b[:])
}

func writeU64(mem Memory, off uint32, v uint64) bool {
	var b [8]byte
	le.PutUint64(b[:], v)
	return mem.Write(off, b[:])
}

// readString copies a guest string.
func readString(mem Memory, off, n uint32) (string, bool) {
	b, ok := view(mem, off, n)
	if !ok {
		return "", false
	}
	return string(b), true
}

// iovecs resolves an array of n iovec (or ciovec) structs into views of
// guest memory. Every buffer is checked before anything is read or written.
func iovecs(mem Memory, iovs, n uint32) ([][]byte, Errno) {
	if n > 1<<16 {
		return nil, EINVAL
	}
	arr, ok := view(mem, iovs, n*8)
	if !ok {
		return nil, EFAULT
	}
	bufs := make([][]byte, n)
	var total uint64
	for i := range bufs {
		ptr, l := le.Uint32(arr[i*8:]), le.Uint32(arr[i*8+4:])
		if bufs[i], ok = view(mem, ptr, l); !ok {
			return nil, EFAULT
		}
		total += uint64(l)
	}
	if total > 1<<31-1 {
		return nil, EINVAL
	}
	return bufs, ESUCCESS
}

// writeStrings lays out NUL-terminated strings at buf and their addresses in
// the pointer array at ptrs (args_get, environ_get).
func writeStrings(mem Memory, ss []string, ptrs, buf uint32) Errno {
	for i, s := range ss {
		if !writeU32(mem, ptrs+uint32(i)*4, buf) {
			return EFAULT
		}
		b := append([]byte(s), 0)
		if !mem.Write(buf, b) {
			return EFAULT
		}
		buf += uint32(len(b))
	}
	return ESUCCESS
}

// stringsSize returns the count and the total size with NUL terminators.
func stringsSize(ss []string) (count, size uint32) {
	for _, s := range ss {
		size += uint32(len(s)) + 1
	}
	return uint32(len(ss)), size
}
