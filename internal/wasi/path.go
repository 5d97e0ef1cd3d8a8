package wasi

import (
	"io/fs"
	"os"
	"path"
	"strings"
)

// target is a guest path resolved against a directory fd: a clean path
// relative to a preopen. Lexical checks here refuse absolute paths and paths
// that climb above the directory fd; os.Root then confines the actual lookup
// (symlinks included) to the preopen.
type target struct {
	root  *os.Root
	pre   int
	rel   string
	slash bool // the guest path ended with '/': it must name a directory
}

// name is the path to hand to os.Root.
func (t target) name() string {
	if t.slash && t.rel != "." {
		return t.rel + "/"
	}
	return t.rel
}

func (h *Host) resolve(mem Memory, fd, ptr, n uint32) (target, Errno) {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return target{}, errno
	}
	if e.kind != kindDir {
		return target{}, ENOTDIR
	}
	p, ok := readString(mem, ptr, n)
	if !ok {
		return target{}, EFAULT
	}
	rel, errno := cleanRel(p)
	if errno != ESUCCESS {
		return target{}, errno
	}
	return target{root: h.preopens[e.preopen].root, pre: e.preopen,
		rel: path.Join(e.rel, rel), slash: strings.HasSuffix(p, "/")}, ESUCCESS
}

// cleanRel validates a guest path relative to a directory fd. Escapes are
// refused with EPERM, as wazero and wasmtime do.
func cleanRel(p string) (string, Errno) {
	switch {
	case p == "":
		return "", ENOENT
	case strings.IndexByte(p, 0) >= 0:
		return "", EINVAL
	case strings.HasPrefix(p, "/"):
		return "", EPERM
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", EPERM
	}
	return c, ESUCCESS
}

// openArgs are path_open's flags.
type openArgs struct {
	follow             bool
	oflags, fdflags    uint16
	rights, inheriting uint64
}

func (h *Host) pathOpen(mem Memory, t target, a openArgs, out uint32) Errno {
	if a.oflags&^(oflagCreat|oflagDirectory|oflagExcl|oflagTrunc) != 0 || a.fdflags&^fdflagsAll != 0 {
		return EINVAL
	}
	if _, ok := view(mem, out, 4); !ok {
		return EFAULT
	}
	var e *entry
	var errno Errno
	if a.oflags&oflagDirectory != 0 {
		e, errno = h.openDir(t, a)
	} else {
		e, errno = h.openFile(t, a)
	}
	if errno != ESUCCESS {
		return errno
	}
	e.rights &= a.rights
	e.inheriting &= a.inheriting
	e.fdflags = a.fdflags
	newfd, errno := h.alloc(e)
	if errno != ESUCCESS {
		e.close()
		return errno
	}
	writeU32(mem, out, newfd)
	return ESUCCESS
}

// checkNoFollow refuses a final symlink when the guest did not ask to follow.
func checkNoFollow(t target, a openArgs) Errno {
	if a.follow || t.slash {
		return ESUCCESS
	}
	fi, err := t.root.Lstat(t.rel)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return ESUCCESS // a missing file is reported by the open itself
	}
	if a.oflags&(oflagCreat|oflagExcl) == oflagCreat|oflagExcl {
		return EEXIST
	}
	if a.oflags&oflagDirectory != 0 {
		return ENOTDIR
	}
	return ELOOP
}

func (h *Host) openDir(t target, a openArgs) (*entry, Errno) {
	if a.oflags&(oflagCreat|oflagTrunc|oflagExcl) != 0 || a.fdflags&fdflagAppend != 0 {
		return nil, EINVAL
	}
	if errno := checkNoFollow(t, a); errno != ESUCCESS {
		return nil, errno
	}
	f, err := t.root.Open(t.name())
	if err != nil {
		return nil, errnoOf(err)
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, errnoOf(err)
	}
	if !fi.IsDir() {
		return nil, ENOTDIR
	}
	return newDirEntry(t.pre, t.rel, false), ESUCCESS
}

func (h *Host) openFile(t target, a openArgs) (*entry, Errno) {
	if errno := checkNoFollow(t, a); errno != ESUCCESS {
		return nil, errno
	}
	read, write := accessMode(a)
	flags := openFlags(read, write)
	if a.oflags&oflagCreat != 0 {
		flags |= os.O_CREATE
		if a.oflags&oflagExcl != 0 {
			flags |= os.O_EXCL
		}
	}
	if a.oflags&oflagTrunc != 0 {
		flags |= os.O_TRUNC
	}
	f, err := t.root.OpenFile(t.name(), flags, 0o666)
	if err != nil {
		return nil, errnoOf(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errnoOf(err)
	}
	if fi.IsDir() {
		f.Close()
		return newDirEntry(t.pre, t.rel, false), ESUCCESS
	}
	return &entry{kind: kindFile, rights: rightsFile, preopen: t.pre, rel: t.rel,
		read: read, write: write, file: f}, ESUCCESS
}

// accessMode derives read/write access from the requested rights (as
// wasi-libc and Go compute them), or from the flags when no right says.
func accessMode(a openArgs) (read, write bool) {
	read = a.rights&rightFdRead != 0
	write = a.rights&rightFdWrite != 0
	if !read && !write {
		read = true
		write = a.oflags&(oflagCreat|oflagTrunc) != 0 || a.fdflags&fdflagAppend != 0
	}
	return read, write
}

func openFlags(read, write bool) int {
	switch {
	case read && write:
		return os.O_RDWR
	case write:
		return os.O_WRONLY
	}
	return os.O_RDONLY
}
