package wasi

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/roam-edge/roam/internal/wasm"
)

func TestFuncsComplete(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	want := map[string][]wasm.ValType{
		"args_get": sig(i32, i32), "args_sizes_get": sig(i32, i32),
		"environ_get": sig(i32, i32), "environ_sizes_get": sig(i32, i32),
		"clock_res_get": sig(i32, i32), "clock_time_get": sig(i32, i64, i32),
		"fd_advise": sig(i32, i64, i64, i32), "fd_allocate": sig(i32, i64, i64),
		"fd_close": sig(i32), "fd_datasync": sig(i32), "fd_fdstat_get": sig(i32, i32),
		"fd_fdstat_set_flags": sig(i32, i32), "fd_fdstat_set_rights": sig(i32, i64, i64),
		"fd_filestat_get": sig(i32, i32), "fd_filestat_set_size": sig(i32, i64),
		"fd_filestat_set_times": sig(i32, i64, i64, i32), "fd_pread": sig(i32, i32, i32, i64, i32),
		"fd_prestat_get": sig(i32, i32), "fd_prestat_dir_name": sig(i32, i32, i32),
		"fd_pwrite": sig(i32, i32, i32, i64, i32), "fd_read": sig(i32, i32, i32, i32),
		"fd_readdir": sig(i32, i32, i32, i64, i32), "fd_renumber": sig(i32, i32),
		"fd_seek": sig(i32, i64, i32, i32), "fd_sync": sig(i32), "fd_tell": sig(i32, i32),
		"fd_write": sig(i32, i32, i32, i32), "path_create_directory": sig(i32, i32, i32),
		"path_filestat_get":       sig(i32, i32, i32, i32, i32),
		"path_filestat_set_times": sig(i32, i32, i32, i32, i64, i64, i32),
		"path_link":               sig(i32, i32, i32, i32, i32, i32, i32),
		"path_open":               sig(i32, i32, i32, i32, i32, i64, i64, i32, i32),
		"path_readlink":           sig(i32, i32, i32, i32, i32, i32),
		"path_remove_directory":   sig(i32, i32, i32), "path_rename": sig(i32, i32, i32, i32, i32, i32),
		"path_symlink": sig(i32, i32, i32, i32, i32), "path_unlink_file": sig(i32, i32, i32),
		"poll_oneoff": sig(i32, i32, i32, i32), "proc_exit": sig(i32), "proc_raise": sig(i32),
		"sched_yield": sig(), "random_get": sig(i32, i32), "sock_accept": sig(i32, i32, i32),
		"sock_recv": sig(i32, i32, i32, i32, i32, i32), "sock_send": sig(i32, i32, i32, i32, i32),
		"sock_shutdown": sig(i32, i32),
	}
	if len(want) != 46 || len(x.h.Funcs()) != 46 {
		t.Fatalf("want 46 functions, table has %d, host has %d", len(want), len(x.h.Funcs()))
	}
	for _, f := range x.h.Funcs() {
		params, ok := want[f.Name]
		if !ok || !bytes.Equal(valBytes(params), valBytes(f.Params)) {
			t.Errorf("%s: params %v, want %v", f.Name, f.Params, params)
		}
		wantResults := 1
		if f.Name == "proc_exit" {
			wantResults = 0
		}
		if len(f.Results) != wantResults {
			t.Errorf("%s: %d results", f.Name, len(f.Results))
		}
		blocking := f.Name == "fd_read" || f.Name == "poll_oneoff" || f.Name == "sock_accept" ||
			f.Name == "sock_recv" || f.Name == "sock_send"
		if f.Blocking != blocking {
			t.Errorf("%s: Blocking=%v", f.Name, f.Blocking)
		}
	}
}

func valBytes(v []wasm.ValType) []byte {
	b := make([]byte, len(v))
	for i, t := range v {
		b[i] = byte(t)
	}
	return b
}

func TestArgsEnv(t *testing.T) {
	tests := []struct {
		name              string
		list              []string
		sizes, get        string
		wantCount, wantSz uint32
	}{
		{"args", []string{"prog.wasm", "-x", "héllo"}, "args_sizes_get", "args_get", 3, 10 + 3 + 7},
		{"env", []string{"A=1", "PATH=/bin"}, "environ_sizes_get", "environ_get", 2, 4 + 10},
		{"empty env", nil, "environ_sizes_get", "environ_get", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Args: []string{"prog.wasm", "-x", "héllo"}, Env: tc.list}
			if tc.name == "args" {
				cfg.Env = nil
			}
			x, _ := newTestHost(t, cfg)
			cnt, sz := x.alloc(4), x.alloc(4)
			if e := x.call(tc.sizes, uint64(cnt), uint64(sz)); e != ESUCCESS {
				t.Fatal(e)
			}
			if x.u32(cnt) != tc.wantCount || x.u32(sz) != tc.wantSz {
				t.Fatalf("sizes %d/%d, want %d/%d", x.u32(cnt), x.u32(sz), tc.wantCount, tc.wantSz)
			}
			ptrs, buf := x.alloc(4*tc.wantCount), x.alloc(tc.wantSz)
			if e := x.call(tc.get, uint64(ptrs), uint64(buf)); e != ESUCCESS {
				t.Fatal(e)
			}
			for i, s := range tc.list {
				p := x.u32(ptrs + uint32(i)*4)
				got := x.mem.b[p : p+uint32(len(s))+1]
				if string(got) != s+"\x00" {
					t.Errorf("entry %d = %q, want %q", i, got, s)
				}
			}
			if e := x.call(tc.sizes, 1<<21, uint64(sz)); e != EFAULT {
				t.Errorf("out of range: %v, want fault", e)
			}
		})
	}
	if _, err := New(Config{Args: []string{"a\x00b"}}); err == nil {
		t.Error("NUL in an argument accepted")
	}
}

func TestStdio(t *testing.T) {
	var out, errOut bytes.Buffer
	x, _ := newTestHost(t, Config{Stdin: strings.NewReader("line one\nline two\n"), Stdout: &out, Stderr: &errOut})
	tests := []struct {
		fd   uint32
		data string
		want *bytes.Buffer
	}{
		{1, "hello ", &out}, {1, "world\n", &out}, {2, "oops\n", &errOut},
	}
	for _, tc := range tests {
		if e, n := x.write(tc.fd, tc.data); e != ESUCCESS || n != uint32(len(tc.data)) {
			t.Fatalf("write fd %d: %v n=%d", tc.fd, e, n)
		}
	}
	if out.String() != "hello world\n" || errOut.String() != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	if x.h.StdoutBytes() != 12 || x.h.StderrBytes() != 5 {
		t.Errorf("counters %d %d", x.h.StdoutBytes(), x.h.StderrBytes())
	}
	var got string
	for i := 0; i < 100; i++ {
		e, s := x.read(0, 5)
		if e != ESUCCESS {
			t.Fatal(e)
		}
		if s == "" {
			break
		}
		got += s
	}
	if got != "line one\nline two\n" {
		t.Errorf("stdin read %q", got)
	}
	if e, _ := x.write(0, "x"); e != EBADF {
		t.Errorf("write to stdin: %v", e)
	}
	if e, _ := x.read(1, 4); e != EBADF {
		t.Errorf("read from stdout: %v", e)
	}
	if e, _ := x.seek(1, 0, whenceSet); e != ESPIPE {
		t.Errorf("seek stdout: %v", e)
	}
}

func TestClocks(t *testing.T) {
	fixed := time.Unix(1700000000, 123456789)
	x, _ := newTestHost(t, Config{Now: func() time.Time { return fixed }})
	out := x.alloc(8)
	get := func(id uint32) uint64 {
		t.Helper()
		if e := x.call("clock_time_get", uint64(id), 1, uint64(out)); e != ESUCCESS {
			t.Fatalf("clock %d: %v", id, e)
		}
		return x.u64(out)
	}
	if got := get(clockRealtime); got != uint64(fixed.UnixNano()) {
		t.Errorf("realtime %d", got)
	}
	m1 := get(clockMonotonic)
	time.Sleep(5 * time.Millisecond)
	m2 := get(clockMonotonic)
	if m1 == 0 || m2 <= m1 || m1 > uint64(time.Minute) {
		t.Errorf("monotonic %d then %d: want small, increasing", m1, m2)
	}
	if get(clockProcessCPUTime) < m2 {
		t.Error("cputime behind monotonic")
	}
	if e := x.call("clock_time_get", 9, 1, uint64(out)); e != EINVAL {
		t.Errorf("bad clock: %v", e)
	}
	if e := x.call("clock_res_get", uint64(clockMonotonic), uint64(out)); e != ESUCCESS || x.u64(out) == 0 {
		t.Errorf("res: %v %d", e, x.u64(out))
	}
	buf := x.alloc(32)
	if e := x.call("random_get", uint64(buf), 32); e != ESUCCESS || bytes.Equal(x.mem.b[buf:buf+32], make([]byte, 32)) {
		t.Errorf("random_get: %v", e)
	}
	if e := x.call("proc_raise", 9); e != ENOSYS {
		t.Errorf("proc_raise: %v", e)
	}
	if e := x.call("sched_yield"); e != ESUCCESS {
		t.Errorf("sched_yield: %v", e)
	}
}

func TestMonotonicAcrossRestore(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	out := x.alloc(8)
	time.Sleep(20 * time.Millisecond)
	x.call("clock_time_get", uint64(clockMonotonic), 1, uint64(out))
	before := x.u64(out)
	state := x.save()
	time.Sleep(200 * time.Millisecond) // "paused": must not be seen by the guest
	start := time.Now()
	h, err := Restore(Config{}, state)
	if err != nil {
		t.Fatal(err)
	}
	x.swap(h)
	x.call("clock_time_get", uint64(clockMonotonic), 1, uint64(out))
	after := x.u64(out)
	sum, _ := Describe(state)
	saved := uint64(sum.Monotonic)
	if saved < before || after < saved {
		t.Fatalf("went backwards: before %d saved %d after %d", before, saved, after)
	}
	if after-saved > uint64(time.Since(start)) {
		t.Errorf("restored clock advanced %v, more than the %v since Restore began",
			time.Duration(after-saved), time.Since(start))
	}
}

func TestProcExit(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	defer func() {
		r := recover()
		ee, ok := r.(*ExitError)
		if !ok || ee.Code != 7 || !strings.Contains(ee.Error(), "7") {
			t.Fatalf("recovered %v", r)
		}
	}()
	x.call("proc_exit", 7)
	t.Fatal("proc_exit returned")
}

func TestFdstatPrestat(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	out := x.alloc(24)
	if e := x.call("fd_prestat_get", 3, uint64(out)); e != ESUCCESS || x.mem.b[out] != 0 || x.u32(out+4) != 5 {
		t.Fatalf("prestat: %v len %d", e, x.u32(out+4))
	}
	if e := x.call("fd_prestat_dir_name", 3, uint64(out), 5); e != ESUCCESS || string(x.mem.b[out:out+5]) != "/data" {
		t.Fatalf("dir name: %v %q", e, x.mem.b[out:out+5])
	}
	for _, fd := range []uint64{0, 1, 4} {
		if e := x.call("fd_prestat_get", fd, uint64(out)); e != EBADF {
			t.Errorf("prestat fd %d: %v", fd, e)
		}
	}
	tests := []struct {
		fd   uint64
		typ  uint8
		errn Errno
	}{{0, fileTypeCharDevice, ESUCCESS}, {1, fileTypeCharDevice, ESUCCESS}, {3, fileTypeDirectory, ESUCCESS}, {9, 0, EBADF}}
	for _, tc := range tests {
		if e := x.call("fd_fdstat_get", tc.fd, uint64(out)); e != tc.errn || (e == ESUCCESS && x.mem.b[out] != tc.typ) {
			t.Errorf("fdstat %d: %v type %d", tc.fd, e, x.mem.b[out])
		}
	}
	if e := x.call("fd_fdstat_set_rights", 3, rightsDir&^rightPathOpen, rightsAll); e != ESUCCESS {
		t.Errorf("narrow rights: %v", e)
	}
	if e := x.call("fd_fdstat_set_rights", 3, rightsDir, rightsAll); e != ENOTCAPABLE {
		t.Errorf("widen rights: %v", e)
	}
	x.call("fd_fdstat_get", 3, uint64(out))
	if binary.LittleEndian.Uint64(x.mem.b[out+8:])&rightPathOpen != 0 {
		t.Error("rights not narrowed")
	}
	if e := x.call("sock_accept", 3, 0, uint64(out)); e != ENOTSOCK {
		t.Errorf("sock_accept on a dir: %v", e)
	}
	if e := x.call("sock_shutdown", 42, 1); e != EBADF {
		t.Errorf("sock_shutdown bad fd: %v", e)
	}
}
