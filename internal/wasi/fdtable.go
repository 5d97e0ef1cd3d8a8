package wasi

import (
	"os"
	"path"
)

// kind is what an fd refers to. Values are part of the saved state.
type kind uint8

const (
	kindStdin  kind = 1
	kindStdout kind = 2
	kindStderr kind = 3
	kindDir    kind = 4
	kindFile   kind = 5
	kindSocket kind = 6 // reserved: virtual streams backed by the node agent
)

var kindNames = map[kind]string{kindStdin: "stdin", kindStdout: "stdout",
	kindStderr: "stderr", kindDir: "dir", kindFile: "file", kindSocket: "socket"}

func (k kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "kind(" + itoa(uint64(k)) + ")"
}

// maxFDs bounds the fd table.
const maxFDs = 1 << 14

// entry is one open fd. Directories and files are named by their preopen and
// a clean path relative to it, which is how Restore reopens them.
type entry struct {
	kind       kind
	rights     uint64 // rights base
	inheriting uint64
	fdflags    uint16
	preopen    int    // index into Host.preopens (dir, file)
	rel        string // path relative to the preopen ("." for the preopen)
	isPreopen  bool
	read       bool     // file opened for reading
	write      bool     // file opened for writing
	file       *os.File // kindFile
	dirents    []dirent // kindDir: listing cached by fd_readdir
}

func newDirEntry(pre int, rel string, isPreopen bool) *entry {
	return &entry{kind: kindDir, rights: rightsDir, inheriting: rightsAll,
		preopen: pre, rel: rel, isPreopen: isPreopen}
}

func (e *entry) close() error {
	if e.file != nil {
		err := e.file.Close()
		e.file = nil
		return err
	}
	return nil
}

func (e *entry) filetype() uint8 {
	switch e.kind {
	case kindDir:
		return fileTypeDirectory
	case kindFile:
		return fileTypeRegularFile
	case kindSocket:
		return fileTypeSocketStream
	}
	return fileTypeCharDevice
}

// guestPath is the path the guest would use for this entry.
func (h *Host) guestPath(e *entry) string {
	if e.kind != kindDir && e.kind != kindFile {
		return ""
	}
	return path.Join(h.preopens[e.preopen].guest, e.rel)
}

// lookup returns the entry of fd, or EBADF.
func (h *Host) lookup(fd uint32) (*entry, Errno) {
	if e, ok := h.fds[fd]; ok {
		return e, ESUCCESS
	}
	return nil, EBADF
}

// lookupFile returns fd's entry if it is an open regular file.
func (h *Host) lookupFile(fd uint32) (*entry, Errno) {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return nil, errno
	}
	switch e.kind {
	case kindFile:
		return e, ESUCCESS
	case kindDir:
		return nil, EISDIR
	}
	return nil, EBADF
}

// alloc installs e at the lowest free fd.
func (h *Host) alloc(e *entry) (uint32, Errno) {
	for fd := uint32(0); fd < maxFDs; fd++ {
		if _, used := h.fds[fd]; !used {
			h.fds[fd] = e
			return fd, ESUCCESS
		}
	}
	return 0, EMFILE
}

func (h *Host) fdClose(fd uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	delete(h.fds, fd)
	return errnoOf(e.close())
}

func (h *Host) fdRenumber(from, to uint32) Errno {
	e, errno := h.lookup(from)
	if errno != ESUCCESS {
		return errno
	}
	old, errno := h.lookup(to)
	if errno != ESUCCESS || from == to {
		return errno
	}
	old.close()
	h.fds[to] = e
	delete(h.fds, from)
	return ESUCCESS
}

func (h *Host) fdFdstatGet(mem Memory, fd, out uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	var b [24]byte
	b[0] = e.filetype()
	le.PutUint16(b[2:], e.fdflags)
	le.PutUint64(b[8:], e.rights)
	le.PutUint64(b[16:], e.inheriting)
	if !mem.Write(out, b[:]) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) fdFdstatSetFlags(fd uint32, flags uint16) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	if flags&^fdflagsAll != 0 {
		return EINVAL
	}
	if e.kind == kindDir && flags&fdflagAppend != 0 {
		return EISDIR
	}
	e.fdflags = flags
	return ESUCCESS
}

func (h *Host) fdFdstatSetRights(fd uint32, base, inheriting uint64) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	if base&^e.rights != 0 || inheriting&^e.inheriting != 0 {
		return ENOTCAPABLE // rights can only be narrowed
	}
	e.rights, e.inheriting = base, inheriting
	return ESUCCESS
}

func (h *Host) fdPrestatGet(mem Memory, fd, out uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	if !e.isPreopen {
		return EBADF
	}
	var b [8]byte
	b[0] = preopenTypeDirectory
	le.PutUint32(b[4:], uint32(len(h.preopens[e.preopen].guest)))
	if !mem.Write(out, b[:]) {
		return EFAULT
	}
	return ESUCCESS
}

func (h *Host) fdPrestatDirName(mem Memory, fd, buf, n uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	if !e.isPreopen {
		return EBADF
	}
	name := h.preopens[e.preopen].guest
	if n < uint32(len(name)) {
		return ENAMETOOLONG
	}
	if !mem.Write(buf, []byte(name)) {
		return EFAULT
	}
	return ESUCCESS
}
