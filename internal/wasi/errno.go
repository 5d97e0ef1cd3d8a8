package wasi

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// errnoNames holds the spec names of errors used in messages and Describe.
var errnoNames = map[Errno]string{
	ESUCCESS: "success", EACCES: "acces", EAGAIN: "again", EBADF: "badf",
	EEXIST: "exist", EFAULT: "fault", EINTR: "intr", EINVAL: "inval",
	EIO: "io", EISDIR: "isdir", ELOOP: "loop", EMFILE: "mfile",
	ENAMETOOLONG: "nametoolong", ENOENT: "noent", ENOSYS: "nosys",
	ENOTDIR: "notdir", ENOTEMPTY: "notempty", ENOTSOCK: "notsock",
	ENOTSUP: "notsup", EPERM: "perm", ESPIPE: "spipe", EXDEV: "xdev",
	ENOTCAPABLE: "notcapable", ERANGE: "range", EFBIG: "fbig",
}

// String returns the spec name of e ("noent"), or its number.
func (e Errno) String() string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return "errno(" + itoa(uint64(e)) + ")"
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// sysErrnos maps host errno values to WASI ones.
var sysErrnos = map[syscall.Errno]Errno{
	syscall.E2BIG: E2BIG, syscall.EACCES: EACCES, syscall.EAGAIN: EAGAIN,
	syscall.EBADF: EBADF, syscall.EBUSY: EBUSY, syscall.EEXIST: EEXIST,
	syscall.EFAULT: EFAULT, syscall.EFBIG: EFBIG, syscall.EINTR: EINTR,
	syscall.EINVAL: EINVAL, syscall.EIO: EIO, syscall.EISDIR: EISDIR,
	syscall.ELOOP: ELOOP, syscall.EMFILE: EMFILE, syscall.EMLINK: EMLINK,
	syscall.ENAMETOOLONG: ENAMETOOLONG, syscall.ENFILE: ENFILE,
	syscall.ENODEV: ENODEV, syscall.ENOENT: ENOENT, syscall.ENOMEM: ENOMEM,
	syscall.ENOSPC: ENOSPC, syscall.ENOSYS: ENOSYS, syscall.ENOTDIR: ENOTDIR,
	syscall.ENOTEMPTY: ENOTEMPTY, syscall.ENOTSUP: ENOTSUP, syscall.ENXIO: ENXIO,
	syscall.EPERM: EPERM, syscall.EPIPE: EPIPE, syscall.ERANGE: ERANGE,
	syscall.EROFS: EROFS, syscall.ESPIPE: ESPIPE, syscall.ETXTBSY: ETXTBSY,
	syscall.EXDEV: EXDEV, syscall.EDQUOT: EDQUOT, syscall.ESTALE: ESTALE,
	syscall.EOVERFLOW: EOVERFLOW, syscall.ENOTTY: ENOTTY,
}

// errnoOf converts an error from the os package into a WASI errno.
func errnoOf(err error) Errno {
	if err == nil {
		return ESUCCESS
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		if e, ok := sysErrnos[se]; ok {
			return e
		}
		return EIO
	}
	if isEscape(err) {
		return EPERM
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ENOENT
	case errors.Is(err, fs.ErrExist):
		return EEXIST
	case errors.Is(err, fs.ErrPermission):
		return EPERM
	case errors.Is(err, fs.ErrInvalid), errors.Is(err, os.ErrClosed):
		return EBADF
	case errors.Is(err, errors.ErrUnsupported):
		return ENOTSUP
	}
	return EIO
}

// isEscape reports whether err is os.Root refusing a path that leaves the
// root (the sentinel is unexported, so its text is compared).
func isEscape(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "path escapes from parent") {
			return true
		}
	}
	return false
}
