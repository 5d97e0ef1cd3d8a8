package wasi

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// testMem is a []byte-backed Memory.
type testMem struct{ b []byte }

func (m *testMem) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m.b)) {
		return nil, false
	}
	return m.b[off : off+n], true
}

func (m *testMem) Write(off uint32, b []byte) bool {
	if uint64(off)+uint64(len(b)) > uint64(len(m.b)) {
		return false
	}
	copy(m.b[off:], b)
	return true
}

// harness drives a Host's functions like a guest would.
type harness struct {
	t     testing.TB
	h     *Host
	mem   *testMem
	funcs map[string]Func
	next  uint32 // bump allocator in mem
}

func newHarness(t testing.TB, h *Host) *harness {
	t.Helper()
	x := &harness{t: t, h: h, mem: &testMem{b: make([]byte, 1<<20)}, funcs: map[string]Func{}, next: 1024}
	for _, f := range h.Funcs() {
		x.funcs[f.Name] = f
	}
	t.Cleanup(func() { x.h.Close() })
	return x
}

// newTestHost makes a Host with a preopened temporary directory at /data
// (fd 3) and returns the harness and the host directory.
func newTestHost(t testing.TB, cfg Config) (*harness, string) {
	t.Helper()
	dir := t.TempDir()
	cfg.Preopens = append([]Preopen{{HostPath: dir, GuestPath: "/data"}}, cfg.Preopens...)
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, h), dir
}

// swap replaces the Host (after a Restore), keeping the memory.
func (x *harness) swap(h *Host) {
	x.h.Close()
	x.h = h
	x.funcs = map[string]Func{}
	for _, f := range h.Funcs() {
		x.funcs[f.Name] = f
	}
}

func (x *harness) call(name string, args ...uint64) Errno {
	return x.callCtx(context.Background(), name, args...)
}

func (x *harness) callCtx(ctx context.Context, name string, args ...uint64) Errno {
	x.t.Helper()
	f, ok := x.funcs[name]
	if !ok {
		x.t.Fatalf("no function %s", name)
	}
	if len(args) != len(f.Params) {
		x.t.Fatalf("%s: %d args, want %d", name, len(args), len(f.Params))
	}
	stack := make([]uint64, max(len(args), len(f.Results)))
	copy(stack, args)
	f.Call(ctx, x.mem, stack)
	return Errno(stack[0])
}

func (x *harness) alloc(n uint32) uint32 {
	p := x.next
	x.next += (n + 7) &^ 7
	if int(x.next) > len(x.mem.b) {
		x.next = 1024
		p = x.next
		x.next += (n + 7) &^ 7
	}
	return p
}

func (x *harness) bytesAt(b []byte) (ptr, n uint64) {
	p := x.alloc(uint32(len(b)))
	copy(x.mem.b[p:], b)
	return uint64(p), uint64(len(b))
}

func (x *harness) str(s string) (ptr, n uint64) { return x.bytesAt([]byte(s)) }

func (x *harness) u32(off uint32) uint32 { return binary.LittleEndian.Uint32(x.mem.b[off:]) }
func (x *harness) u64(off uint32) uint64 { return binary.LittleEndian.Uint64(x.mem.b[off:]) }

// iov lays out one iovec pointing at a buffer of n bytes holding data.
func (x *harness) iov(data []byte, n uint32) (iovs, buf uint32) {
	buf = x.alloc(n)
	copy(x.mem.b[buf:buf+n], data)
	iovs = x.alloc(8)
	binary.LittleEndian.PutUint32(x.mem.b[iovs:], buf)
	binary.LittleEndian.PutUint32(x.mem.b[iovs+4:], n)
	return iovs, buf
}

func (x *harness) write(fd uint32, data string) (Errno, uint32) {
	iovs, _ := x.iov([]byte(data), uint32(len(data)))
	out := x.alloc(4)
	errno := x.call("fd_write", uint64(fd), uint64(iovs), 1, uint64(out))
	return errno, x.u32(out)
}

func (x *harness) readCtx(ctx context.Context, fd, n uint32) (Errno, string) {
	iovs, buf := x.iov(nil, n)
	out := x.alloc(4)
	binary.LittleEndian.PutUint32(x.mem.b[out:], 0xdeadbeef)
	errno := x.callCtx(ctx, "fd_read", uint64(fd), uint64(iovs), 1, uint64(out))
	if errno != ESUCCESS {
		return errno, ""
	}
	return errno, string(x.mem.b[buf : buf+x.u32(out)])
}

func (x *harness) read(fd, n uint32) (Errno, string) { return x.readCtx(context.Background(), fd, n) }

// open calls path_open relative to dirfd with read+write rights.
func (x *harness) open(dirfd uint32, path string, oflags uint16, rights uint64, fdflags uint16) (uint32, Errno) {
	p, n := x.str(path)
	out := x.alloc(4)
	errno := x.call("path_open", uint64(dirfd), uint64(lookupSymlinkFollow), p, n, uint64(oflags),
		rights, rightsAll, uint64(fdflags), uint64(out))
	return x.u32(out), errno
}

// pathCall calls a path function taking (fd, path, len).
func (x *harness) pathCall(name string, dirfd uint32, path string) Errno {
	p, n := x.str(path)
	return x.call(name, uint64(dirfd), p, n)
}

func (x *harness) seek(fd uint32, off int64, whence uint8) (Errno, uint64) {
	out := x.alloc(8)
	errno := x.call("fd_seek", uint64(fd), uint64(off), uint64(whence), uint64(out))
	return errno, x.u64(out)
}

func (x *harness) save() []byte {
	x.t.Helper()
	st, err := x.h.Save()
	if err != nil {
		x.t.Fatal(err)
	}
	return st
}

func writeHostFile(t testing.TB, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readHostFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
