package snapshot

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.snap")
	want := richSnapshot(true)
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, want, got)
	h, err := ReadFileHeader(path)
	if err != nil || h.MemoryPages != want.MemoryPages {
		t.Fatalf("header %+v, error %v", h, err)
	}
}

// A failing encode leaves no file at all, and no temporary file behind.
func TestWriteFileLeavesNoPartialFile(t *testing.T) {
	failAfter := func(n int) func(io.Writer, *Snapshot) error {
		return func(w io.Writer, s *Snapshot) error {
			return Encode(&failingWriter{w: w, left: n}, s)
		}
	}
	tests := []struct {
		name   string
		encode func(io.Writer, *Snapshot) error
	}{
		{"fails before writing", failAfter(0)},
		{"fails in the header", failAfter(20)},
		{"fails in memory", failAfter(40_000)},
		{"invalid snapshot", func(w io.Writer, s *Snapshot) error { s.MemoryPages++; return Encode(w, s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.snap")
			if err := writeFile(path, richSnapshot(true), tt.encode); err == nil {
				t.Fatal("writeFile succeeded")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("left %v behind", entries)
			}
		})
	}
}

// A failed rewrite keeps the previous snapshot intact.
func TestWriteFileKeepsOldSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.snap")
	old := richSnapshot(false)
	if err := WriteFile(path, old); err != nil {
		t.Fatal(err)
	}
	bad := richSnapshot(false)
	bad.Globals[0].Type = 0
	if err := WriteFile(path, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v, want ErrInvalid", err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, old, got)
}

var errDiskFull = errors.New("disk full")

type failingWriter struct {
	w    io.Writer
	left int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, errDiskFull
	}
	f.left -= len(p)
	return f.w.Write(p)
}
