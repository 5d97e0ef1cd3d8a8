package wasi

import (
	"context"
	"errors"
	"io"
	"math"
)

func (h *Host) fdRead(ctx context.Context, mem Memory, fd, iovs, n, out uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	bufs, errno := iovecs(mem, iovs, n)
	if errno != ESUCCESS {
		return errno
	}
	if _, ok := view(mem, out, 4); !ok {
		return EFAULT // checked first: stdin data must not be taken then lost
	}
	var nread uint32
	switch e.kind {
	case kindStdin:
		nread, errno = h.readStdin(ctx, e, bufs)
	case kindFile:
		nread, errno = readFile(e, bufs, -1)
	case kindDir:
		errno = EISDIR
	default:
		errno = EBADF
	}
	if errno != ESUCCESS {
		return errno
	}
	writeU32(mem, out, nread)
	return ESUCCESS
}

// readStdin delivers buffered stdin data, waiting for some if there is none.
// On interrupt it returns EINTR having delivered nothing.
func (h *Host) readStdin(ctx context.Context, e *entry, bufs [][]byte) (uint32, Errno) {
	if totalLen(bufs) == 0 {
		return 0, ESUCCESS
	}
	for {
		n, eof := h.stdin.poll()
		if n > 0 {
			var total uint32
			for _, b := range bufs {
				k := h.stdin.take(b)
				total += uint32(k)
				if k < len(b) {
					break
				}
			}
			return total, ESUCCESS
		}
		if eof {
			return 0, ESUCCESS
		}
		if e.fdflags&fdflagNonblock != 0 {
			return 0, EAGAIN
		}
		if !h.wait(ctx, h.stdin.ready, -1) {
			return 0, EINTR
		}
	}
}

func totalLen(bufs [][]byte) (n int) {
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// readFile reads into bufs at the file offset (off < 0) or at off.
func readFile(e *entry, bufs [][]byte, off int64) (uint32, Errno) {
	if !e.read {
		return 0, EBADF
	}
	var total int
	for _, b := range bufs {
		var n int
		var err error
		if off < 0 {
			n, err = e.file.Read(b)
		} else {
			n, err = e.file.ReadAt(b, off+int64(total))
		}
		total += n
		if err != nil && !errors.Is(err, io.EOF) && total == 0 {
			return 0, errnoOf(err)
		}
		if err != nil || n < len(b) {
			break
		}
	}
	return uint32(total), ESUCCESS
}

func (h *Host) fdPread(mem Memory, fd, iovs, n uint32, off uint64, out uint32) Errno {
	e, errno := h.lookupSeekable(fd)
	if errno != ESUCCESS {
		return errno
	}
	if off > math.MaxInt64 {
		return EINVAL
	}
	bufs, errno := iovecs(mem, iovs, n)
	if errno != ESUCCESS {
		return errno
	}
	nread, errno := readFile(e, bufs, int64(off))
	if errno != ESUCCESS {
		return errno
	}
	if !writeU32(mem, out, nread) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) fdWrite(mem Memory, fd, iovs, n, out uint32) Errno {
	return h.fdWriteAt(mem, fd, iovs, n, -1, out)
}

func (h *Host) fdPwrite(mem Memory, fd, iovs, n uint32, off uint64, out uint32) Errno {
	if off > math.MaxInt64 {
		return EINVAL
	}
	if _, errno := h.lookupSeekable(fd); errno != ESUCCESS {
		return errno
	}
	return h.fdWriteAt(mem, fd, iovs, n, int64(off), out)
}

// fdWriteAt writes at the file offset (or the end with APPEND) when off < 0.
func (h *Host) fdWriteAt(mem Memory, fd, iovs, n uint32, off int64, out uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	bufs, errno := iovecs(mem, iovs, n)
	if errno != ESUCCESS {
		return errno
	}
	var written uint32
	switch e.kind {
	case kindStdout:
		written, errno = writeStream(h.stdout, &h.stdoutBytes, bufs)
	case kindStderr:
		written, errno = writeStream(h.stderr, &h.stderrBytes, bufs)
	case kindFile:
		written, errno = writeFile(e, bufs, off)
	default:
		errno = EBADF
	}
	if errno != ESUCCESS {
		return errno
	}
	if !writeU32(mem, out, written) {
		return EFAULT
	}
	return ESUCCESS
}

func writeStream(w io.Writer, counter *uint64, bufs [][]byte) (uint32, Errno) {
	var total uint32
	for _, b := range bufs {
		n, err := w.Write(b)
		total += uint32(n)
		*counter += uint64(n)
		if err != nil {
			if total == 0 {
				return 0, EIO
			}
			break
		}
	}
	return total, ESUCCESS
}

func writeFile(e *entry, bufs [][]byte, off int64) (uint32, Errno) {
	if !e.write {
		return 0, EBADF
	}
	if off < 0 && e.fdflags&fdflagAppend != 0 {
		if _, err := e.file.Seek(0, io.SeekEnd); err != nil {
			return 0, errnoOf(err)
		}
	}
	var total int
	for _, b := range bufs {
		var n int
		var err error
		if off < 0 {
			n, err = e.file.Write(b)
		} else {
			n, err = e.file.WriteAt(b, off+int64(total))
		}
		total += n
		if err != nil {
			if total == 0 {
				return 0, errnoOf(err)
			}
			break
		}
	}
	return uint32(total), ESUCCESS
}
