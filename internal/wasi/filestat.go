package wasi

import (
	"io/fs"
	"math"
	"time"
)

// filestat is the spec's filestat struct (64 bytes in memory).
type filestat struct {
	dev, ino, nlink, size uint64
	atim, mtim, ctim      uint64
	filetype              uint8
}

func (s *filestat) encode() []byte {
	b := make([]byte, 64)
	le.PutUint64(b[0:], s.dev)
	le.PutUint64(b[8:], s.ino)
	b[16] = s.filetype
	le.PutUint64(b[24:], s.nlink)
	le.PutUint64(b[32:], s.size)
	le.PutUint64(b[40:], s.atim)
	le.PutUint64(b[48:], s.mtim)
	le.PutUint64(b[56:], s.ctim)
	return b
}

// statOf converts a FileInfo (with the host's extra fields where known).
func statOf(fi fs.FileInfo) filestat {
	st := filestat{size: uint64(fi.Size()), filetype: filetypeOf(fi.Mode()), nlink: 1}
	m := uint64(fi.ModTime().UnixNano())
	st.atim, st.mtim, st.ctim = m, m, m
	sysStat(fi, &st)
	return st
}

func filetypeOf(m fs.FileMode) uint8 {
	switch {
	case m.IsRegular():
		return fileTypeRegularFile
	case m.IsDir():
		return fileTypeDirectory
	case m&fs.ModeSymlink != 0:
		return fileTypeSymlink
	case m&fs.ModeSocket != 0:
		return fileTypeSocketStream
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return fileTypeCharDevice
	case m&fs.ModeDevice != 0:
		return fileTypeBlockDevice
	}
	return fileTypeUnknown
}

func (h *Host) fdFilestatGet(mem Memory, fd, out uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	var st filestat
	switch e.kind {
	case kindFile:
		fi, err := e.file.Stat()
		if err != nil {
			return errnoOf(err)
		}
		st = statOf(fi)
	case kindDir:
		fi, err := h.preopens[e.preopen].root.Stat(e.rel)
		if err != nil {
			return errnoOf(err)
		}
		st = statOf(fi)
	default:
		st.filetype = e.filetype()
	}
	if !mem.Write(out, st.encode()) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) fdFilestatSetSize(fd uint32, size uint64) Errno {
	e, errno := h.lookupFile(fd)
	if errno != ESUCCESS {
		return errno
	}
	if size > math.MaxInt64 {
		return EFBIG
	}
	if !e.write {
		return EBADF
	}
	return errnoOf(e.file.Truncate(int64(size)))
}

// fileTimes decodes fst_flags; a zero time.Time leaves that time unchanged.
func (h *Host) fileTimes(atim, mtim uint64, flags uint16) (a, m time.Time, errno Errno) {
	if flags&^(fstAtim|fstAtimNow|fstMtim|fstMtimNow) != 0 ||
		flags&(fstAtim|fstAtimNow) == fstAtim|fstAtimNow ||
		flags&(fstMtim|fstMtimNow) == fstMtim|fstMtimNow {
		return a, m, EINVAL
	}
	pick := func(v uint64, set, now bool) time.Time {
		switch {
		case set:
			return time.Unix(0, int64(v))
		case now:
			return h.now()
		}
		return time.Time{}
	}
	a = pick(atim, flags&fstAtim != 0, flags&fstAtimNow != 0)
	m = pick(mtim, flags&fstMtim != 0, flags&fstMtimNow != 0)
	return a, m, ESUCCESS
}

func (h *Host) fdFilestatSetTimes(fd uint32, atim, mtim uint64, flags uint16) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	a, m, errno := h.fileTimes(atim, mtim, flags)
	if errno != ESUCCESS {
		return errno
	}
	if e.kind != kindFile && e.kind != kindDir {
		return ENOTSUP
	}
	return errnoOf(h.preopens[e.preopen].root.Chtimes(e.rel, a, m))
}
