package wasi

import (
	"io/fs"
	"os"
	"strings"
)

func (h *Host) pathCreateDirectory(t target) Errno {
	if t.rel == "." {
		return EEXIST
	}
	return errnoOf(t.root.Mkdir(t.rel, 0o777))
}

func (h *Host) pathRemoveDirectory(t target) Errno {
	if t.rel == "." {
		return EINVAL
	}
	fi, err := t.root.Lstat(t.rel)
	if err != nil {
		return errnoOf(err)
	}
	if !fi.IsDir() {
		return ENOTDIR
	}
	return errnoOf(t.root.Remove(t.rel))
}

func (h *Host) pathUnlinkFile(t target) Errno {
	fi, err := t.root.Lstat(t.rel)
	if err != nil {
		return errnoOf(err)
	}
	if fi.IsDir() {
		return EISDIR
	}
	if t.slash {
		return ENOTDIR
	}
	return errnoOf(t.root.Remove(t.rel))
}

func (h *Host) pathFilestatGet(mem Memory, t target, follow bool, out uint32) Errno {
	var fi fs.FileInfo
	var err error
	if follow || t.slash {
		fi, err = t.root.Stat(t.name())
	} else {
		fi, err = t.root.Lstat(t.rel)
	}
	if err != nil {
		return errnoOf(err)
	}
	st := statOf(fi)
	if !mem.Write(out, st.encode()) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) pathFilestatSetTimes(t target, follow bool, atim, mtim uint64, flags uint16) Errno {
	a, m, errno := h.fileTimes(atim, mtim, flags)
	if errno != ESUCCESS {
		return errno
	}
	if !follow {
		fi, err := t.root.Lstat(t.rel)
		if err != nil {
			return errnoOf(err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return errnoOf(lchtimes(t.root, t.rel, a, m))
		}
	}
	return errnoOf(t.root.Chtimes(t.name(), a, m))
}

func (h *Host) pathReadlink(mem Memory, t target, buf, n, out uint32) Errno {
	dest, err := t.root.Readlink(t.rel)
	if err != nil {
		return errnoOf(err)
	}
	if uint32(len(dest)) > n {
		dest = dest[:n] // truncated, as POSIX readlink does
	}
	if !mem.Write(buf, []byte(dest)) || !writeU32(mem, out, uint32(len(dest))) {
		return EFAULT
	}
	return ESUCCESS
}

// pathSymlink creates link t pointing at dest. Absolute destinations are
// refused (as cap-std does); relative ones are harmless, since following a
// link never leaves the preopen.
func (h *Host) pathSymlink(dest string, t target) Errno {
	switch {
	case dest == "":
		return ENOENT
	case strings.HasPrefix(dest, "/"):
		return EPERM
	case strings.IndexByte(dest, 0) >= 0:
		return EINVAL
	}
	if t.slash {
		return ENOENT
	}
	return errnoOf(t.root.Symlink(dest, t.rel))
}

// pathLink makes a hard link; both paths must be in the same preopen.
func (h *Host) pathLink(old, new target) Errno {
	if old.pre != new.pre {
		return EXDEV
	}
	return errnoOf(old.root.Link(old.rel, new.name()))
}

// pathRename renames within one preopen, with POSIX semantics where os.Root
// differs (an empty directory at the destination is replaced), and keeps the
// paths of open fds under the old name current.
func (h *Host) pathRename(old, new target) Errno {
	if old.pre != new.pre {
		return EXDEV
	}
	if old.rel == "." || new.rel == "." {
		return EBUSY
	}
	if nfi, err := old.root.Lstat(new.rel); err == nil && nfi.IsDir() {
		ofi, err := old.root.Lstat(old.rel)
		if err != nil {
			return errnoOf(err)
		}
		if os.SameFile(ofi, nfi) {
			return ESUCCESS
		}
		if !ofi.IsDir() {
			return EISDIR
		}
		if err := old.root.Remove(new.rel); err != nil {
			return errnoOf(err)
		}
	}
	if err := old.root.Rename(old.name(), new.name()); err != nil {
		return errnoOf(err)
	}
	h.renameOpen(old.pre, old.rel, new.rel)
	return ESUCCESS
}

// renameOpen updates fds whose path is or is under from after a rename.
func (h *Host) renameOpen(pre int, from, to string) {
	for _, e := range h.fds {
		if (e.kind != kindFile && e.kind != kindDir) || e.preopen != pre || e.isPreopen {
			continue
		}
		switch {
		case e.rel == from:
			e.rel = to
		case strings.HasPrefix(e.rel, from+"/"):
			e.rel = to + e.rel[len(from):]
		}
	}
}
