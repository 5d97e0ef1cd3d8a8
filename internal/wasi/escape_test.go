package wasi

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEscapesRefused(t *testing.T) {
	parent := t.TempDir()
	box := filepath.Join(parent, "box")
	must(t, os.Mkdir(box, 0o755))
	must(t, os.Mkdir(filepath.Join(box, "sub"), 0o755))
	writeHostFile(t, parent, "secret", "top secret")
	writeHostFile(t, box, "a", "inside")
	must(t, os.Symlink("/etc", filepath.Join(box, "abs")))
	must(t, os.Symlink("..", filepath.Join(box, "up")))
	must(t, os.Symlink("../secret", filepath.Join(box, "rel")))
	must(t, os.Symlink("a", filepath.Join(box, "ok")))
	h, err := New(Config{Preopens: []Preopen{{HostPath: box, GuestPath: "/box"}}})
	must(t, err)
	x := newHarness(t, h)
	sub, e := x.open(3, "sub", oflagDirectory, rightsDir, 0)
	if e != ESUCCESS {
		t.Fatal(e)
	}
	opens := []struct {
		dirfd  uint32
		path   string
		oflags uint16
		want   Errno
	}{
		{3, "../secret", 0, EPERM},
		{3, "/etc/passwd", 0, EPERM},
		{3, "sub/../../secret", 0, EPERM},
		{3, "..", oflagDirectory, EPERM},
		{3, "abs/passwd", 0, EPERM},
		{3, "up/secret", 0, EPERM},
		{3, "rel", 0, EPERM},
		{3, "../newfile", oflagCreat, EPERM},
		{sub, "../a", 0, EPERM},
		{3, "sub/../a", 0, ESUCCESS},
		{3, "ok", 0, ESUCCESS},
		{3, "", 0, ENOENT},
		{1, "a", 0, ENOTDIR},
		{42, "a", 0, EBADF},
	}
	for _, tc := range opens {
		fd, e := x.open(tc.dirfd, tc.path, tc.oflags, rw, 0)
		if e != tc.want {
			t.Errorf("open %q from fd %d: %v, want %v", tc.path, tc.dirfd, e, tc.want)
		}
		if e == ESUCCESS {
			x.call("fd_close", uint64(fd))
		}
	}
	ops := []struct {
		name, path string
		want       Errno
	}{
		{"path_create_directory", "../d", EPERM},
		{"path_create_directory", "up/d", EPERM},
		{"path_unlink_file", "../secret", EPERM},
		{"path_unlink_file", "up/secret", EPERM},
		{"path_remove_directory", "/tmp", EPERM},
	}
	for _, tc := range ops {
		if e := x.pathCall(tc.name, 3, tc.path); e != tc.want {
			t.Errorf("%s %q: %v, want %v", tc.name, tc.path, e, tc.want)
		}
	}
	st := x.alloc(64)
	for _, p := range []string{"abs/passwd", "up/secret", "rel"} {
		pp, pn := x.str(p)
		if e := x.call("path_filestat_get", 3, uint64(lookupSymlinkFollow), pp, pn, uint64(st)); e != EPERM {
			t.Errorf("stat %q: %v, want perm", p, e)
		}
	}
	tp, tn := x.str("/etc/passwd")
	lp, ln := x.str("link")
	if e := x.call("path_symlink", tp, tn, 3, lp, ln); e != EPERM {
		t.Errorf("symlink to an absolute path: %v", e)
	}
	ap, an := x.str("a")
	op, on := x.str("../stolen")
	if e := x.call("path_rename", 3, ap, an, 3, op, on); e != EPERM {
		t.Errorf("rename out: %v", e)
	}
	if e := x.call("path_link", 3, 0, ap, an, 3, op, on); e != EPERM {
		t.Errorf("link out: %v", e)
	}
	if got := readHostFile(t, parent, "secret"); got != "top secret" {
		t.Errorf("outside file changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(parent, "stolen")); err == nil {
		t.Error("a file escaped the preopen")
	}
}

func TestMissingPreopen(t *testing.T) {
	_, err := New(Config{Preopens: []Preopen{{HostPath: filepath.Join(t.TempDir(), "nope")}}})
	if err == nil {
		t.Fatal("missing preopen accepted")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
