package wasi

import (
	"io"
	"runtime"
)

func (h *Host) sizesGet(mem Memory, ss []string, countOut, sizeOut uint32) Errno {
	count, size := stringsSize(ss)
	if !writeU32(mem, countOut, count) || !writeU32(mem, sizeOut, size) {
		return EFAULT
	}
	return ESUCCESS
}

// clockNow reads a clock: realtime is the host's (Config.Now); the others
// are the guest monotonic clock, which excludes time spent saved.
func (h *Host) clockNow(id uint32) (uint64, Errno) {
	switch id {
	case clockRealtime:
		return uint64(h.now().UnixNano()), ESUCCESS
	case clockMonotonic, clockProcessCPUTime, clockThreadCPUTime:
		return uint64(h.clock.now()), ESUCCESS
	}
	return 0, EINVAL
}

func (h *Host) clockResGet(mem Memory, id, out uint32) Errno {
	var res uint64
	switch id {
	case clockRealtime:
		res = 1000
	case clockMonotonic, clockProcessCPUTime, clockThreadCPUTime:
		res = 1
	default:
		return EINVAL
	}
	if !writeU64(mem, out, res) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) clockTimeGet(mem Memory, id, out uint32) Errno {
	t, errno := h.clockNow(id)
	if errno != ESUCCESS {
		return errno
	}
	if !writeU64(mem, out, t) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) randomGet(mem Memory, buf, n uint32) Errno {
	b, ok := view(mem, buf, n)
	if !ok {
		return EFAULT
	}
	if _, err := io.ReadFull(h.rand, b); err != nil {
		return EIO
	}
	return ESUCCESS
}

func (h *Host) schedYield() Errno {
	runtime.Gosched()
	return ESUCCESS
}

// Sockets: the guest never owns a real socket. Virtual stream fds backed by
// the node agent come later (kindSocket is reserved in the fd table and the
// saved state); until then these calls refuse cleanly.

func (h *Host) sockCheck(fd uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	if e.kind != kindSocket {
		return ENOTSOCK
	}
	return ENOTSUP
}

func (h *Host) sockAccept(fd, flags uint32) Errno {
	if flags&^uint32(fdflagNonblock) != 0 {
		return EINVAL
	}
	return h.sockCheck(fd)
}

func (h *Host) sockShutdown(fd, how uint32) Errno {
	if how == 0 || how > 3 {
		return EINVAL
	}
	return h.sockCheck(fd)
}
