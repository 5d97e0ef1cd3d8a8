// Package atomicfile writes files that exist only when complete: content
// goes to a temporary file in the same directory, which is synced, renamed
// over the target, and the directory synced (raft's file snapshots and
// tailscale's atomicfile do the same). Snapshots, node records and the module
// store all write this way. It depends on the standard library only.
package atomicfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Write writes path with what fill writes, atomically and durably: a reader
// sees the old file or the complete new one, never a part, and a failed
// fill leaves nothing behind. The file is readable by its owner only.
func Write(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// WriteBytes is Write of b.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	})
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory and
// makes renames durable by itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
