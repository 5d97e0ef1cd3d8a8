package wasi

import (
	"io"
	"math"
)

// lookupSeekable returns fd's entry if it is a file: ESPIPE for streams.
func (h *Host) lookupSeekable(fd uint32) (*entry, Errno) {
	e, errno := h.lookupFile(fd)
	if errno == EBADF {
		if _, ok := h.fds[fd]; ok {
			return nil, ESPIPE
		}
	}
	return e, errno
}

func (h *Host) fdSeek(mem Memory, fd uint32, off int64, whence uint32, out uint32) Errno {
	e, errno := h.lookupSeekable(fd)
	if errno != ESUCCESS {
		return errno
	}
	var w int
	switch whence {
	case uint32(whenceSet):
		w = io.SeekStart
	case uint32(whenceCur):
		w = io.SeekCurrent
	case uint32(whenceEnd):
		w = io.SeekEnd
	default:
		return EINVAL
	}
	if _, ok := view(mem, out, 8); !ok {
		return EFAULT
	}
	pos, err := e.file.Seek(off, w)
	if err != nil {
		return errnoOf(err)
	}
	writeU64(mem, out, uint64(pos))
	return ESUCCESS
}

func (h *Host) fdTell(mem Memory, fd, out uint32) Errno {
	return h.fdSeek(mem, fd, 0, uint32(whenceCur), out)
}

// fdSync serves fd_sync and fd_datasync.
func (h *Host) fdSync(fd uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	switch e.kind {
	case kindFile:
		return errnoOf(e.file.Sync())
	case kindDir:
		return ESUCCESS
	}
	return EINVAL
}

func (h *Host) fdAdvise(fd uint32, off, n uint64, advice uint32) Errno {
	if _, errno := h.lookupSeekable(fd); errno != ESUCCESS {
		return errno
	}
	if advice > maxAdvice || off > math.MaxInt64 || n > math.MaxInt64 {
		return EINVAL
	}
	return ESUCCESS // advisory only
}

func (h *Host) fdAllocate(fd uint32, off, n uint64) Errno {
	e, errno := h.lookupSeekable(fd)
	if errno != ESUCCESS {
		return errno
	}
	if n == 0 || off > math.MaxInt64 || n > math.MaxInt64 {
		return EINVAL
	}
	if off+n > math.MaxInt64 {
		return EFBIG
	}
	if !e.write {
		return EBADF
	}
	fi, err := e.file.Stat()
	if err != nil {
		return errnoOf(err)
	}
	if end := int64(off + n); end > fi.Size() {
		return errnoOf(e.file.Truncate(end))
	}
	return ESUCCESS
}
