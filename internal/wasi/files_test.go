package wasi

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

const rw = rightsFile

func TestFileReadWriteSeek(t *testing.T) {
	x, dir := newTestHost(t, Config{})
	fd, e := x.open(3, "notes.txt", oflagCreat|oflagExcl, rw, 0)
	if e != ESUCCESS || fd != 4 {
		t.Fatalf("create: fd %d %v", fd, e)
	}
	if e, n := x.write(fd, "hello world"); e != ESUCCESS || n != 11 {
		t.Fatalf("write %v %d", e, n)
	}
	steps := []struct {
		off    int64
		whence uint8
		pos    uint64
		read   string
	}{
		{0, whenceSet, 0, "hello"},
		{1, whenceCur, 6, "world"},
		{-5, whenceEnd, 6, "wor"},
	}
	for _, s := range steps {
		if e, pos := x.seek(fd, s.off, s.whence); e != ESUCCESS || pos != s.pos {
			t.Fatalf("seek %+v: %v pos %d", s, e, pos)
		}
		if e, got := x.read(fd, uint32(len(s.read))); e != ESUCCESS || got != s.read {
			t.Fatalf("read after seek %+v: %v %q", s, e, got)
		}
	}
	out := x.alloc(8)
	if e := x.call("fd_tell", uint64(fd), uint64(out)); e != ESUCCESS || x.u64(out) != 9 {
		t.Errorf("tell %v %d", e, x.u64(out))
	}
	if e, _ := x.seek(fd, -100, whenceSet); e != EINVAL {
		t.Errorf("negative seek: %v", e)
	}
	if _, e := x.open(3, "notes.txt", oflagCreat|oflagExcl, rw, 0); e != EEXIST {
		t.Errorf("O_EXCL on existing: %v", e)
	}
	if _, e := x.open(3, "missing.txt", 0, rw, 0); e != ENOENT {
		t.Errorf("open missing: %v", e)
	}
	if got := readHostFile(t, dir, "notes.txt"); got != "hello world" {
		t.Errorf("host file %q", got)
	}
}

func TestFilePositionalAndFlags(t *testing.T) {
	x, dir := newTestHost(t, Config{})
	writeHostFile(t, dir, "f", "0123456789")
	fd, e := x.open(3, "f", 0, rw, fdflagAppend)
	if e != ESUCCESS {
		t.Fatal(e)
	}
	x.write(fd, "AB")
	if got := readHostFile(t, dir, "f"); got != "0123456789AB" {
		t.Fatalf("append: %q", got)
	}
	iovs, buf := x.iov(nil, 4)
	out := x.alloc(4)
	if e := x.call("fd_pread", uint64(fd), uint64(iovs), 1, 3, uint64(out)); e != ESUCCESS || string(x.mem.b[buf:buf+4]) != "3456" {
		t.Fatalf("pread %v %q", e, x.mem.b[buf:buf+4])
	}
	iovs, _ = x.iov([]byte("xy"), 2)
	if e := x.call("fd_pwrite", uint64(fd), uint64(iovs), 1, 0, uint64(out)); e != ESUCCESS || x.u32(out) != 2 {
		t.Fatalf("pwrite %v", e)
	}
	if e := x.call("fd_filestat_set_size", uint64(fd), 5); e != ESUCCESS {
		t.Fatal(e)
	}
	if e := x.call("fd_allocate", uint64(fd), 0, 8); e != ESUCCESS {
		t.Fatal(e)
	}
	st := x.alloc(64)
	if e := x.call("fd_filestat_get", uint64(fd), uint64(st)); e != ESUCCESS || x.mem.b[st+16] != fileTypeRegularFile || x.u64(st+32) != 8 {
		t.Fatalf("filestat %v type %d size %d", e, x.mem.b[st+16], x.u64(st+32))
	}
	if got := readHostFile(t, dir, "f"); got != "xy234\x00\x00\x00" {
		t.Errorf("after pwrite/truncate/allocate: %q", got)
	}
	if e := x.call("fd_fdstat_set_flags", uint64(fd), 0); e != ESUCCESS {
		t.Fatal(e)
	}
	x.seek(fd, 0, whenceSet)
	x.write(fd, "Q")
	if got := readHostFile(t, dir, "f"); got[0] != 'Q' {
		t.Errorf("append not cleared: %q", got)
	}
	if e := x.call("fd_filestat_set_times", uint64(fd), 1e9, 2e9, uint64(fstAtim|fstMtim)); e != ESUCCESS {
		t.Fatal(e)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f")); fi.ModTime().Unix() != 2 {
		t.Errorf("mtime %v", fi.ModTime())
	}
	for _, name := range []string{"fd_sync", "fd_datasync"} {
		if e := x.call(name, uint64(fd)); e != ESUCCESS {
			t.Errorf("%s: %v", name, e)
		}
	}
	ro, _ := x.open(3, "f", 0, rightFdRead, 0)
	if e, _ := x.write(ro, "z"); e != EBADF {
		t.Errorf("write to read-only fd: %v", e)
	}
	if e := x.call("fd_close", uint64(ro)); e != ESUCCESS {
		t.Fatal(e)
	}
	if e := x.call("fd_close", uint64(ro)); e != EBADF {
		t.Errorf("double close: %v", e)
	}
}

// readdir lists a directory fd through fd_readdir with a small buffer,
// following cookies.
func (x *harness) readdir(fd uint32, bufLen uint32) []string {
	var names []string
	cookie := uint64(0)
	for round := 0; round < 100; round++ {
		buf, out := x.alloc(bufLen), x.alloc(4)
		if e := x.call("fd_readdir", uint64(fd), uint64(buf), uint64(bufLen), cookie, uint64(out)); e != ESUCCESS {
			x.t.Fatalf("readdir: %v", e)
		}
		used, b, progressed := x.u32(out), x.mem.b[buf:], false
		for off := uint32(0); off+direntHeader <= used; {
			n := binary.LittleEndian.Uint32(b[off+16:])
			if off+direntHeader+n > used {
				break
			}
			names = append(names, string(b[off+direntHeader:off+direntHeader+n]))
			cookie = binary.LittleEndian.Uint64(b[off:])
			off += direntHeader + n
			progressed = true
		}
		if used < bufLen || !progressed {
			return names
		}
	}
	return names
}

func TestDirectories(t *testing.T) {
	x, dir := newTestHost(t, Config{})
	for _, n := range []string{"b", "a", "c"} {
		writeHostFile(t, dir, n, n)
	}
	if e := x.pathCall("path_create_directory", 3, "sub"); e != ESUCCESS {
		t.Fatal(e)
	}
	if e := x.pathCall("path_create_directory", 3, "sub"); e != EEXIST {
		t.Errorf("mkdir twice: %v", e)
	}
	want := []string{".", "..", "a", "b", "c", "sub"}
	for _, bufLen := range []uint32{4096, 40} {
		if got := x.readdir(3, bufLen); !slices.Equal(got, want) {
			t.Errorf("readdir(buf %d) = %v, want %v", bufLen, got, want)
		}
	}
	sub, e := x.open(3, "sub", oflagDirectory, rightsDir, 0)
	if e != ESUCCESS {
		t.Fatal(e)
	}
	f, _ := x.open(sub, "inner", oflagCreat, rw, 0)
	x.write(f, "in")
	if got := x.readdir(sub, 4096); !slices.Equal(got, []string{".", "..", "inner"}) {
		t.Errorf("sub listing %v", got)
	}
	if _, e := x.open(3, "a", oflagDirectory, rightsDir, 0); e != ENOTDIR {
		t.Errorf("O_DIRECTORY on a file: %v", e)
	}
	if e := x.pathCall("path_remove_directory", 3, "sub"); e != ENOTEMPTY {
		t.Errorf("rmdir non-empty: %v", e)
	}
	if e := x.pathCall("path_unlink_file", 3, "sub"); e != EISDIR {
		t.Errorf("unlink dir: %v", e)
	}
	if e := x.pathCall("path_remove_directory", 3, "a"); e != ENOTDIR {
		t.Errorf("rmdir file: %v", e)
	}
	if e := x.pathCall("path_unlink_file", sub, "inner"); e != ESUCCESS {
		t.Fatal(e)
	}
	if e := x.pathCall("path_remove_directory", 3, "sub"); e != ESUCCESS {
		t.Fatal(e)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Error("sub still exists")
	}
}

func TestRenameLinkSymlink(t *testing.T) {
	x, dir := newTestHost(t, Config{})
	writeHostFile(t, dir, "old", "data")
	fd, _ := x.open(3, "old", 0, rw, 0)
	op, on := x.str("old")
	np, nn := x.str("new")
	if e := x.call("path_rename", 3, op, on, 3, np, nn); e != ESUCCESS {
		t.Fatal(e)
	}
	if x.h.fds[fd].rel != "new" {
		t.Errorf("open fd path not updated: %q", x.h.fds[fd].rel)
	}
	if e := x.call("path_rename", 3, op, on, 3, np, nn); e != ENOENT {
		t.Errorf("rename missing: %v", e)
	}
	lp, ln := x.str("hard")
	if e := x.call("path_link", 3, 0, np, nn, 3, lp, ln); e != ESUCCESS {
		t.Fatal(e)
	}
	if readHostFile(t, dir, "hard") != "data" {
		t.Error("hard link content")
	}
	tp, tn := x.str("new")
	sp, sn := x.str("sym")
	if e := x.call("path_symlink", tp, tn, 3, sp, sn); e != ESUCCESS {
		t.Fatal(e)
	}
	buf, out := x.alloc(64), x.alloc(4)
	if e := x.call("path_readlink", 3, sp, sn, uint64(buf), 64, uint64(out)); e != ESUCCESS || string(x.mem.b[buf:buf+x.u32(out)]) != "new" {
		t.Fatalf("readlink %v", e)
	}
	st := x.alloc(64)
	if e := x.call("path_filestat_get", 3, 0, sp, sn, uint64(st)); e != ESUCCESS || x.mem.b[st+16] != fileTypeSymlink {
		t.Errorf("lstat symlink: %v type %d", e, x.mem.b[st+16])
	}
	if e := x.call("path_filestat_get", 3, uint64(lookupSymlinkFollow), sp, sn, uint64(st)); e != ESUCCESS || x.u64(st+32) != 4 {
		t.Errorf("stat through symlink: %v size %d", e, x.u64(st+32))
	}
	if e := x.call("path_filestat_set_times", 3, 0, sp, sn, 0, 3e9, uint64(fstMtim)); e != ESUCCESS {
		t.Errorf("lutimes: %v", e)
	}
	nofollow := x.alloc(4)
	if e := x.call("path_open", 3, 0, sp, sn, 0, rw, rw, 0, uint64(nofollow)); e != ELOOP {
		t.Errorf("open symlink without follow: %v", e)
	}
	names := x.readdir(3, 4096)
	sort.Strings(names)
	if !slices.Equal(names, []string{".", "..", "hard", "new", "sym"}) {
		t.Errorf("listing %v", names)
	}
	// An empty directory at the destination is replaced, as POSIX says.
	x.pathCall("path_create_directory", 3, "d1")
	x.pathCall("path_create_directory", 3, "d2")
	d1p, d1n := x.str("d1")
	d2p, d2n := x.str("d2")
	if e := x.call("path_rename", 3, d1p, d1n, 3, d2p, d2n); e != ESUCCESS {
		t.Errorf("rename dir over empty dir: %v", e)
	}
	if e := x.call("path_rename", 3, np, nn, 3, d2p, d2n); e != EISDIR {
		t.Errorf("rename file over dir: %v", e)
	}
}
