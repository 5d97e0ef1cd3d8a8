package wasi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseVolumeDir(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Preopen // zero: refused
	}{
		{"data", Preopen{Volume: "data", GuestPath: "/data"}},
		{"data:/in", Preopen{Volume: "data", GuestPath: "/in"}},
		{"data/a/b:/in", Preopen{Volume: "data", Sub: "a/b", GuestPath: "/in"}},
		{"data/a/./b/", Preopen{Volume: "data", Sub: "a/b", GuestPath: "/data/a/b"}},
		{"data/.:/d", Preopen{Volume: "data", GuestPath: "/d"}},
		{"data/a/../b:/d", Preopen{Volume: "data", Sub: "b", GuestPath: "/d"}},
		{"/", Preopen{}},
		{"/etc:/host", Preopen{}},
		{"../", Preopen{}},
		{"..:/x", Preopen{}},
		{"data/..:/x", Preopen{}},
		{"data/../..:/x", Preopen{}},
		{"data/a/../../../etc:/x", Preopen{}},
		{":/x", Preopen{}},
		{"", Preopen{}},
		{"da ta:/x", Preopen{}},
	} {
		got, err := ParseVolumeDir(tc.spec)
		if tc.want == (Preopen{}) {
			if err == nil || !errors.Is(err, ErrBadDir) || !strings.Contains(err.Error(), "VOLUME[/PATH][:GUEST]") {
				t.Errorf("%q: got %+v, %v; want ErrBadDir naming the syntax", tc.spec, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestParseVolumes(t *testing.T) {
	dir := t.TempDir()
	v, err := ParseVolumes([]string{"data=" + dir, "b.2=" + dir})
	if err != nil || strings.Join(v.Names(), ",") != "b.2,data" {
		t.Fatalf("%v %v", v, err)
	}
	for _, bad := range [][]string{{"data"}, {"=" + dir}, {"../x=" + dir}, {"x=" + dir + "/missing"}, {"x=" + dir, "x=" + dir}} {
		if _, err := ParseVolumes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// volumeHost makes a node's Volumes: "data" holds a file and a symlink to
// a directory outside it that holds a secret.
func volumeHost(t *testing.T) (vols *Volumes, root, outside string) {
	t.Helper()
	root, outside = t.TempDir(), t.TempDir()
	writeHostFile(t, outside, "shadow", "secret")
	writeHostFile(t, root, "hello.txt", "hello")
	must(t, os.Mkdir(filepath.Join(root, "sub"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(root, "escape")))
	must(t, os.Symlink("/etc", filepath.Join(root, "sub", "etc")))
	vols, err := ParseVolumes([]string{"data=" + root})
	must(t, err)
	return vols, root, outside
}

func TestVolumePreopensConfined(t *testing.T) {
	vols, _, _ := volumeHost(t)
	for _, tc := range []struct {
		p    Preopen
		want error
	}{
		{Preopen{HostPath: "/", GuestPath: "/host"}, ErrHostPath},
		{Preopen{HostPath: "/etc", GuestPath: "/etc"}, ErrHostPath},
		{Preopen{Volume: "other", GuestPath: "/o"}, ErrUnknownVolume},
		{Preopen{Volume: "data", Sub: "escape", GuestPath: "/x"}, ErrBadDir},
		{Preopen{Volume: "data", Sub: "sub/etc", GuestPath: "/x"}, ErrBadDir},
		{Preopen{Volume: "data", Sub: "missing", GuestPath: "/x"}, os.ErrNotExist},
	} {
		h, err := New(Config{Args: []string{"m"}, Volumes: vols, Preopens: []Preopen{tc.p}})
		if err == nil {
			h.Close()
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.p.GuestPath) {
			t.Errorf("%+v: got %v, want %v naming the guest path", tc.p, err, tc.want)
		}
		if err := vols.Check([]Preopen{tc.p}); !errors.Is(err, tc.want) {
			t.Errorf("Check(%+v): got %v, want %v", tc.p, err, tc.want)
		}
	}
	if _, err := New(Config{Args: []string{"m"}, Volumes: vols, Preopens: []Preopen{{Volume: "other"}}}); err == nil ||
		!strings.Contains(err.Error(), "this node has: data") {
		t.Errorf("unknown volume: %v, want the node's volumes listed", err)
	}
	if _, err := New(Config{Args: []string{"m"}, Preopens: []Preopen{{Volume: "data", GuestPath: "/d"}}}); err == nil {
		t.Errorf("a volume preopen without Volumes was accepted")
	}
}

// TestVolumeGuestCannotLeave: inside a volume, the guest reaches neither the
// secret through the symlink to it, nor anything by "..".
func TestVolumeGuestCannotLeave(t *testing.T) {
	vols, _, _ := volumeHost(t)
	h, err := New(Config{Args: []string{"m"}, Volumes: vols, Preopens: []Preopen{{Volume: "data", GuestPath: "/data"}}})
	must(t, err)
	x := newHarness(t, h)
	if fd, e := x.open(3, "hello.txt", 0, rightFdRead, 0); e != ESUCCESS {
		t.Fatalf("open hello.txt: %v", e)
	} else if _, s := x.read(fd, 10); s != "hello" {
		t.Fatalf("read %q", s)
	}
	for _, p := range []string{"escape/shadow", "../shadow", "/etc/passwd", "sub/etc/passwd", "sub/../../x"} {
		if fd, e := x.open(3, p, 0, rightFdRead, 0); e == ESUCCESS {
			_, s := x.read(fd, 100)
			t.Errorf("guest opened %s: read %q", p, s)
		}
	}
}

// TestVolumeSnapshotMapsByName: a state names the volume, not the host
// path, and a restore on another node finds the volume of that name there.
func TestVolumeSnapshotMapsByName(t *testing.T) {
	vols, _, _ := volumeHost(t)
	h, err := New(Config{Args: []string{"m"}, Volumes: vols, Preopens: []Preopen{{Volume: "data", Sub: "sub", GuestPath: "/d"}}})
	must(t, err)
	x := newHarness(t, h)
	fd, e := x.open(3, "f.txt", oflagCreat, rw, 0)
	if e != ESUCCESS {
		t.Fatal(e)
	}
	x.write(fd, "abc")
	state := x.save()
	sum, err := Describe(state)
	must(t, err)
	if p := sum.Preopens[0]; p != (Preopen{Volume: "data", Sub: "sub", GuestPath: "/d"}) || sum.Version != StateVersion {
		t.Fatalf("saved preopen %+v version %d", p, sum.Version)
	}
	if f := sum.FDs[len(sum.FDs)-1]; f.Volume != "data/sub/f.txt" || f.HostPath != "" || f.GuestPath != "/d/f.txt" {
		t.Errorf("saved fd %+v, want volume data/sub/f.txt and no host path", f)
	}
	other := t.TempDir()
	must(t, os.Mkdir(filepath.Join(other, "sub"), 0o755))
	writeHostFile(t, other, "sub/f.txt", "abc")
	vols2, err := ParseVolumes([]string{"data=" + other})
	must(t, err)
	h2, err := Restore(Config{Volumes: vols2}, state)
	must(t, err)
	y := newHarness(t, h2)
	y.write(fd, "def")
	if got := readHostFile(t, other, "sub/f.txt"); got != "abcdef" {
		t.Errorf("restored file on the other volume: %q", got)
	}
	for _, tc := range []struct {
		cfg  Config
		want error
	}{
		{Config{Volumes: mustVolumes(t, "elsewhere="+other)}, ErrUnknownVolume},
		{Config{}, nil}, // no volumes (roam resume): refused too
	} {
		if _, err := Restore(tc.cfg, state); err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("restore with %+v: %v, want %v", tc.cfg, err, tc.want)
		}
	}
}

func mustVolumes(t *testing.T, specs ...string) *Volumes {
	v, err := ParseVolumes(specs)
	must(t, err)
	return v
}

// TestHostPathSnapshotRefusedByNode: a state with a host path preopen (as
// roam run writes it, or version 1) is refused where volumes rule, before
// anything is opened.
func TestHostPathSnapshotRefusedByNode(t *testing.T) {
	x, _ := newTestHost(t, Config{Args: []string{"m"}})
	vols, _, _ := volumeHost(t)
	v1, err := os.ReadFile("testdata/state-v1.bin")
	must(t, err)
	for name, state := range map[string][]byte{"current": x.save(), "version 1": v1} {
		_, err := Restore(Config{Volumes: vols}, state)
		if !errors.Is(err, ErrHostPath) || !strings.Contains(err.Error(), "/data") {
			t.Errorf("%s: %v, want ErrHostPath naming the guest path", name, err)
		}
	}
}

// TestStateV1Decodes: the version 1 fixture (written by the previous
// format's code) still decodes, and restores where its directory exists.
func TestStateV1Decodes(t *testing.T) {
	v1, err := os.ReadFile("testdata/state-v1.bin")
	must(t, err)
	sum, err := Describe(v1)
	must(t, err)
	if sum.Version != 1 || sum.Preopens[0] != (Preopen{HostPath: "/tmp/roam-fixture-v1", GuestPath: "/data"}) ||
		len(sum.FDs) != 5 || sum.FDs[4].GuestPath != "/data/input.txt" || sum.FDs[4].Offset != 3 {
		t.Fatalf("v1 fixture: %+v", sum)
	}
}

// TestFileIdentity: a file open in a snapshot must be the same on restore
// (size and content); a different one is refused, naming its guest path.
func TestFileIdentity(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(path string)
		want   string // "" restores
	}{
		{"unchanged", func(string) {}, ""},
		{"touched", func(p string) { must(t, os.Chtimes(p, time.Now(), time.Now().Add(time.Hour))) }, ""},
		{"rewritten", func(p string) { must(t, os.WriteFile(p, []byte("0123456789abcdeX"), 0o644)) }, "content differs"},
		{"appended", func(p string) { must(t, os.WriteFile(p, []byte("0123456789abcdef+"), 0o644)) }, "size is 17 bytes, the snapshot's 16"},
		{"removed", func(p string) { must(t, os.Remove(p)) }, "no longer exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, dir := newTestHost(t, Config{Args: []string{"m"}})
			writeHostFile(t, dir, "input.txt", "0123456789abcdef")
			in, _ := x.open(3, "input.txt", 0, rightFdRead, 0)
			wo, _ := x.open(3, "out.txt", oflagCreat, rightFdWrite, 0) // write-only: hashed through another fd
			x.write(wo, "written")
			x.read(in, 4)
			state := x.save()
			tc.change(filepath.Join(dir, "input.txt"))
			h, err := Restore(Config{}, state)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("restore: %v", err)
			case tc.want == "":
				y := newHarness(t, h)
				if _, s := y.read(in, 4); s != "4567" {
					t.Errorf("read after restore %q", s)
				}
			case !errors.Is(err, ErrFileChanged) || !strings.Contains(err.Error(), "/data/input.txt") || !strings.Contains(err.Error(), tc.want):
				t.Errorf("restore: %v; want ErrFileChanged naming /data/input.txt and %q", err, tc.want)
			}
		})
	}
}

// TestFileIdentityWriteOnly: a write-only file changed behind the guest's
// back is caught too.
func TestFileIdentityWriteOnly(t *testing.T) {
	x, dir := newTestHost(t, Config{Args: []string{"m"}})
	wo, _ := x.open(3, "out.txt", oflagCreat, rightFdWrite, 0)
	x.write(wo, "written")
	state := x.save()
	writeHostFile(t, dir, "out.txt", "WRITTEN")
	if _, err := Restore(Config{}, state); !errors.Is(err, ErrFileChanged) || !strings.Contains(err.Error(), "/data/out.txt") {
		t.Errorf("restore: %v, want ErrFileChanged for /data/out.txt", err)
	}
}

// BenchmarkSaveOpenFile is the capture cost of an open file's identity
// (hashing it from the page cache), which a migration pays in its downtime.
func BenchmarkSaveOpenFile(b *testing.B) {
	for _, size := range []int{-1, 4 << 10, 64 << 10, 1 << 20, HashBudget, HashBudget + 1} {
		name := fmt.Sprintf("%dKiB", size>>10)
		switch {
		case size < 0:
			name = "no-file"
		case size > HashBudget:
			name = "over-budget"
		}
		b.Run(name, func(b *testing.B) {
			x, dir := newTestHost(b, Config{Args: []string{"m"}})
			if size >= 0 {
				must(b, os.WriteFile(filepath.Join(dir, "f"), make([]byte, size), 0o644))
				x.open(3, "f", 0, rightFdRead, 0)
			}
			for b.Loop() {
				x.save()
			}
		})
	}
}
