package wasi

import (
	"bytes"
	"context"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveRestoreMidFile(t *testing.T) {
	var out bytes.Buffer
	x, dir := newTestHost(t, Config{Args: []string{"m.wasm", "a"}, Env: []string{"K=V"}, Stdout: &out})
	writeHostFile(t, dir, "input.txt", "0123456789abcdef")
	must(t, os.Mkdir(filepath.Join(dir, "logs"), 0o755))
	in, _ := x.open(3, "input.txt", 0, rightFdRead, 0)
	logs, _ := x.open(3, "logs", oflagDirectory, rightsDir, 0)
	logf, _ := x.open(logs, "log.txt", oflagCreat, rw, fdflagAppend)
	if e, s := x.read(in, 6); e != ESUCCESS || s != "012345" {
		t.Fatalf("read %v %q", e, s)
	}
	x.write(logf, "first\n")
	x.write(1, "out1\n")
	spare, _ := x.open(3, "input.txt", 0, rightFdRead, 0)
	if e := x.call("fd_renumber", uint64(logf), uint64(spare)); e != ESUCCESS {
		t.Fatal(e)
	}
	state := x.save()

	// The old host goes on (the file moves on in the old process only).
	if _, s := x.read(in, 2); s != "67" {
		t.Fatalf("old host read %q", s)
	}
	var out2 bytes.Buffer
	h, err := Restore(Config{Stdout: &out2}, state)
	must(t, err)
	y := newHarness(t, h)
	if e, s := y.read(in, 4); e != ESUCCESS || s != "6789" {
		t.Errorf("restored read %v %q, want 6789", e, s)
	}
	// Another writer appended to the log meanwhile: APPEND must still append.
	f, _ := os.OpenFile(filepath.Join(dir, "logs", "log.txt"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("other\n")
	f.Close()
	y.write(spare, "second\n")
	if got := readHostFile(t, dir, "logs/log.txt"); got != "first\nother\nsecond\n" {
		t.Errorf("log %q", got)
	}
	if e := y.call("fd_close", uint64(logf)); e != EBADF {
		t.Errorf("renumbered-away fd %d is open: %v", logf, e)
	}
	if _, e := y.open(logs, "new.txt", oflagCreat, rw, 0); e != ESUCCESS {
		t.Errorf("open under restored dir fd: %v", e)
	}
	if e, n := y.write(1, "out2\n"); e != ESUCCESS || n != 5 || h.StdoutBytes() != 10 || out2.String() != "out2\n" {
		t.Errorf("stdout after restore: %v counter %d %q", e, h.StdoutBytes(), out2.String())
	}
	cnt, sz := y.alloc(4), y.alloc(4)
	y.call("args_sizes_get", uint64(cnt), uint64(sz))
	if y.u32(cnt) != 2 || y.u32(sz) != 9 {
		t.Errorf("args after restore: %d %d", y.u32(cnt), y.u32(sz))
	}
}

func TestDescribe(t *testing.T) {
	x, dir := newTestHost(t, Config{Args: []string{"m.wasm"}, Env: []string{"A=1"}})
	writeHostFile(t, dir, "f", "abcdef")
	fd, _ := x.open(3, "f", 0, rightFdRead, 0)
	x.read(fd, 4)
	x.write(2, "err")
	sum, err := Describe(x.save())
	must(t, err)
	if sum.Version != StateVersion || sum.Args[0] != "m.wasm" || sum.Env[0] != "A=1" || sum.StderrBytes != 3 {
		t.Errorf("summary %+v", sum)
	}
	if len(sum.Preopens) != 1 || sum.Preopens[0].GuestPath != "/data" || sum.Preopens[0].HostPath != dir {
		t.Errorf("preopens %+v", sum.Preopens)
	}
	last := sum.FDs[len(sum.FDs)-1]
	if len(sum.FDs) != 5 || last.FD != fd || last.Kind != "file" || last.GuestPath != "/data/f" ||
		last.HostPath != filepath.Join(dir, "f") || last.Offset != 4 {
		t.Errorf("fds %+v", sum.FDs)
	}
}

func TestRestoreErrors(t *testing.T) {
	x, dir := newTestHost(t, Config{})
	writeHostFile(t, dir, "f", "abc")
	x.open(3, "f", 0, rightFdRead, 0)
	state := x.save()

	for n := 0; n < len(state); n++ {
		if _, err := Restore(Config{}, state[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	for i := range state {
		bad := bytes.Clone(state)
		bad[i] ^= 0x41
		if h, err := Restore(Config{}, bad); err == nil {
			h.Close()
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	future := bytes.Clone(state)
	future[0] = 99
	if _, err := Restore(Config{}, future); err == nil || !strings.Contains(err.Error(), "unknown version 99") {
		t.Errorf("future version: %v", err)
	}
	must(t, os.Remove(filepath.Join(dir, "f")))
	_, err := Restore(Config{}, state)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "f")) || !strings.Contains(err.Error(), "no longer exists") {
		t.Errorf("missing file: %v", err)
	}
	must(t, os.RemoveAll(dir))
	if _, err := Restore(Config{}, state); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing preopen: %v", err)
	}
}

func TestSaveIsStable(t *testing.T) {
	// Saving twice gives the same bytes but for the clock and the checksum.
	x, _ := newTestHost(t, Config{})
	a, b := x.save(), x.save()
	if len(a) != len(b) {
		t.Fatalf("sizes differ: %d %d", len(a), len(b))
	}
	sa, _ := Describe(a)
	sb, _ := Describe(b)
	if sb.Monotonic < sa.Monotonic {
		t.Error("monotonic went backwards between saves")
	}
	if _, err := Restore(Config{}, nil); err == nil {
		t.Error("empty state accepted")
	}
}

// FuzzRestore feeds arbitrary bytes to Restore and Describe: they must
// refuse or succeed, never panic. Inputs are tried as given (mostly stopped
// by the checksum) and with the checksum fixed (reaching the decoder).
func FuzzRestore(f *testing.F) {
	x, dir := newTestHost(f, Config{Args: []string{"a", "b"}, Env: []string{"K=V"}})
	writeHostFile(f, dir, "f", "data")
	fd, _ := x.open(3, "f", 0, rightFdRead, fdflagAppend)
	x.read(fd, 2)
	x.open(3, ".", oflagDirectory, rightsDir, 0)
	x.h.Interrupt()
	x.poll(context.Background(), clockSub(1, clockMonotonic, time.Hour, 0))
	if x.h.poll == nil {
		f.Fatal("seed has no pending poll")
	}
	f.Add(x.save())
	y, _ := newTestHost(f, Config{})
	f.Add(y.save())
	f.Add([]byte{StateVersion})
	if v1, err := os.ReadFile("testdata/state-v1.bin"); err == nil {
		f.Add(v1)
	}
	vols, err := ParseVolumes([]string{"data=" + dir})
	must(f, err)
	hv, err := New(Config{Volumes: vols, Preopens: []Preopen{{Volume: "data", GuestPath: "/v"}}})
	must(f, err)
	z := newHarness(f, hv)
	z.open(3, "f", 0, rightFdRead, 0)
	f.Add(z.save())
	f.Fuzz(func(t *testing.T, data []byte) {
		try(t, data)
		if len(data) >= 5 {
			fixed := append([]byte(nil), data...)
			body := fixed[:len(fixed)-4]
			le.PutUint32(fixed[len(fixed)-4:], crc32.ChecksumIEEE(body))
			try(t, fixed)
		}
	})
}

// fuzzVolumes is a node's volume for FuzzRestore: the current directory,
// whose subdirectories a fuzzed state may name but not leave.
var fuzzVolumes, _ = ParseVolumes([]string{"data=."})

func try(t *testing.T, data []byte) {
	if h, err := Restore(Config{Volumes: fuzzVolumes}, data); err == nil {
		h.Close()
	}
	if h, err := Restore(Config{}, data); err == nil {
		if _, err := h.Save(); err != nil {
			t.Errorf("restored state does not save: %v", err)
		}
		h.Close()
	}
	Describe(data)
}
