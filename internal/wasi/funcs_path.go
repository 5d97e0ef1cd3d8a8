package wasi

import (
	"context"

	"github.com/roam-edge/roam/internal/wasm"
)

// pathFn wraps a path_* function whose directory fd is parameter fd and
// whose path pointer and length are parameters i and i+1.
func (h *Host) pathFn(name string, params []wasm.ValType, fd, i int, f func(m Memory, t target, p []uint64) Errno) Func {
	return fn(name, params, false, func(_ context.Context, m Memory, p []uint64) Errno {
		t, errno := h.resolve(m, u32(p[fd]), u32(p[i]), u32(p[i+1]))
		if errno != ESUCCESS {
			return errno
		}
		return f(m, t, p)
	})
}

// twoPaths resolves the two paths of path_link and path_rename.
func (h *Host) twoPaths(m Memory, fd1, p1, n1, fd2, p2, n2 uint64) (a, b target, errno Errno) {
	if a, errno = h.resolve(m, u32(fd1), u32(p1), u32(n1)); errno != ESUCCESS {
		return a, b, errno
	}
	b, errno = h.resolve(m, u32(fd2), u32(p2), u32(n2))
	return a, b, errno
}

func (h *Host) pathFuncs() []Func {
	return []Func{
		h.pathFn("path_create_directory", sig(i32, i32, i32), 0, 1, func(_ Memory, t target, _ []uint64) Errno {
			return h.pathCreateDirectory(t)
		}),
		h.pathFn("path_filestat_get", sig(i32, i32, i32, i32, i32), 0, 2, func(m Memory, t target, p []uint64) Errno {
			return h.pathFilestatGet(m, t, u32(p[1])&lookupSymlinkFollow != 0, u32(p[4]))
		}),
		h.pathFn("path_filestat_set_times", sig(i32, i32, i32, i32, i64, i64, i32), 0, 2, func(_ Memory, t target, p []uint64) Errno {
			return h.pathFilestatSetTimes(t, u32(p[1])&lookupSymlinkFollow != 0, p[4], p[5], uint16(p[6]))
		}),
		fn("path_link", sig(i32, i32, i32, i32, i32, i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			old, new, errno := h.twoPaths(m, p[0], p[2], p[3], p[4], p[5], p[6])
			if errno != ESUCCESS {
				return errno
			}
			return h.pathLink(old, new)
		}),
		h.pathFn("path_open", sig(i32, i32, i32, i32, i32, i64, i64, i32, i32), 0, 2, func(m Memory, t target, p []uint64) Errno {
			a := openArgs{follow: u32(p[1])&lookupSymlinkFollow != 0, oflags: uint16(p[4]),
				rights: p[5], inheriting: p[6], fdflags: uint16(p[7])}
			if u32(p[4]) > 0xffff || u32(p[7]) > 0xffff {
				return EINVAL
			}
			return h.pathOpen(m, t, a, u32(p[8]))
		}),
		h.pathFn("path_readlink", sig(i32, i32, i32, i32, i32, i32), 0, 1, func(m Memory, t target, p []uint64) Errno {
			return h.pathReadlink(m, t, u32(p[3]), u32(p[4]), u32(p[5]))
		}),
		h.pathFn("path_remove_directory", sig(i32, i32, i32), 0, 1, func(_ Memory, t target, _ []uint64) Errno {
			return h.pathRemoveDirectory(t)
		}),
		fn("path_rename", sig(i32, i32, i32, i32, i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			old, new, errno := h.twoPaths(m, p[0], p[1], p[2], p[3], p[4], p[5])
			if errno != ESUCCESS {
				return errno
			}
			return h.pathRename(old, new)
		}),
		h.pathFn("path_symlink", sig(i32, i32, i32, i32, i32), 2, 3, func(m Memory, t target, p []uint64) Errno {
			dest, ok := readString(m, u32(p[0]), u32(p[1]))
			if !ok {
				return EFAULT
			}
			return h.pathSymlink(dest, t)
		}),
		h.pathFn("path_unlink_file", sig(i32, i32, i32), 0, 1, func(_ Memory, t target, _ []uint64) Errno {
			return h.pathUnlinkFile(t)
		}),
	}
}
