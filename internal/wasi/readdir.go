package wasi

import (
	"path"
	"sort"
)

// dirent is one directory entry as fd_readdir reports it.
type dirent struct {
	name string
	ino  uint64
	typ  uint8
}

const direntHeader = 24

// fdReaddir lists "." and ".." then the entries sorted by name; the cookie
// of an entry is its index in that listing plus one, so cookies stay valid
// across Save/Restore as long as the directory does not change.
func (h *Host) fdReaddir(mem Memory, fd, buf, n uint32, cookie uint64, out uint32) Errno {
	e, errno := h.lookup(fd)
	if errno != ESUCCESS {
		return errno
	}
	if e.kind != kindDir {
		return ENOTDIR
	}
	if _, ok := view(mem, buf, n); !ok {
		return EFAULT
	}
	if cookie == 0 || e.dirents == nil {
		if e.dirents, errno = h.listDir(e); errno != ESUCCESS {
			return errno
		}
	}
	var b []byte
	for i := cookie; i < uint64(len(e.dirents)) && len(b) < int(n); i++ {
		b = appendDirent(b, e.dirents[i], i+1)
	}
	if len(b) > int(n) {
		b = b[:n] // the last entry is cut: the guest retries with a larger buffer
	}
	if !mem.Write(buf, b) || !writeU32(mem, out, uint32(len(b))) {
		return EFAULT
	}
	return ESUCCESS
}

func appendDirent(b []byte, d dirent, next uint64) []byte {
	var hdr [direntHeader]byte
	le.PutUint64(hdr[0:], next)
	le.PutUint64(hdr[8:], d.ino)
	le.PutUint32(hdr[16:], uint32(len(d.name)))
	hdr[20] = d.typ
	return append(append(b, hdr[:]...), d.name...)
}

func (h *Host) listDir(e *entry) ([]dirent, Errno) {
	root := h.preopens[e.preopen].root
	f, err := root.Open(e.rel)
	if err != nil {
		return nil, errnoOf(err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, errnoOf(err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	out := make([]dirent, 0, len(ents)+2)
	dot := dirent{name: ".", typ: fileTypeDirectory}
	if fi, err := f.Stat(); err == nil {
		dot.ino = statOf(fi).ino
	}
	dotdot := dirent{name: "..", typ: fileTypeDirectory, ino: dot.ino}
	if e.rel != "." { // the preopen's parent is outside: reuse its own inode
		if fi, err := root.Stat(path.Dir(e.rel)); err == nil {
			dotdot.ino = statOf(fi).ino
		}
	}
	out = append(out, dot, dotdot)
	for _, de := range ents {
		d := dirent{name: de.Name(), typ: filetypeOf(de.Type())}
		if fi, err := de.Info(); err == nil {
			d.ino = statOf(fi).ino
		}
		out = append(out, d)
	}
	return out, ESUCCESS
}
