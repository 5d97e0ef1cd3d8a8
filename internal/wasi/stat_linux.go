//go:build linux

package wasi

import (
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sysStat fills the fields only the host's stat structure has.
func sysStat(fi fs.FileInfo, st *filestat) {
	s, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	st.dev, st.ino, st.nlink = uint64(s.Dev), uint64(s.Ino), uint64(s.Nlink)
	st.atim = uint64(s.Atim.Nano())
	st.ctim = uint64(s.Ctim.Nano())
}

// lchtimes sets the times of a symlink itself (not its target). base is a
// single name inside dir, so the call cannot leave the root.
func lchtimes(root *os.Root, rel string, a, m time.Time) error {
	dir, err := root.Open(path.Dir(rel))
	if err != nil {
		return err
	}
	defer dir.Close()
	ts := []unix.Timespec{timespec(a), timespec(m)}
	return unix.UtimesNanoAt(int(dir.Fd()), path.Base(rel), ts, unix.AT_SYMLINK_NOFOLLOW)
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Sec: 0, Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(t.UnixNano())
}
