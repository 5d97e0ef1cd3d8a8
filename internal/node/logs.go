package node

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync"
)

// logFile is an instance's captured stdout or stderr: an append-only file
// that followers read from any offset while the guest writes.
type logFile struct {
	mu     sync.Mutex
	f      *os.File
	size   int64
	notify chan struct{} // closed and replaced at every write and at close
	ended  bool          // no more writes here: the instance ended or left
}

func openLog(path string, truncate bool) (*logFile, error) {
	flags := os.O_RDWR | os.O_CREATE | os.O_APPEND
	if truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logFile{f: f, size: fi.Size(), notify: make(chan struct{})}, nil
}

// Write appends guest output. It never fails the guest: a full disk loses
// output, not the instance.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, _ := l.f.Write(p)
	l.size += int64(n)
	l.wakeLocked()
	return len(p), nil
}

func (l *logFile) wakeLocked() {
	close(l.notify)
	l.notify = make(chan struct{})
}

// end marks the log complete (or no longer growing here) and wakes followers.
func (l *logFile) end() {
	l.mu.Lock()
	l.ended = true
	l.wakeLocked()
	l.mu.Unlock()
}

// reopen lets the log grow again, when an instance that left comes back.
func (l *logFile) reopen() {
	l.mu.Lock()
	l.ended = false
	l.mu.Unlock()
}

func (l *logFile) state() (size int64, ended bool, notify <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size, l.ended, l.notify
}

func (l *logFile) close() error { return l.f.Close() }

// truncate cuts the log back to size bytes, when an instance resumes from
// a checkpoint taken at that size.
func (l *logFile) truncate(size int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if size >= l.size {
		return nil
	}
	if err := l.f.Truncate(size); err != nil {
		return err
	}
	l.size = size
	return nil
}

// copyRange copies bytes [off, end) of the log to w.
func (l *logFile) copyRange(w io.Writer, off, end int64) (int64, error) {
	return io.Copy(w, io.NewSectionReader(l.f, off, end-off))
}

// serve writes the log from off; with follow it goes on until the log ends
// (the instance ended or moved away) or the client leaves.
func (l *logFile) serve(ctx context.Context, w http.ResponseWriter, off int64, follow bool) {
	fl, _ := w.(http.Flusher)
	for {
		size, ended, notify := l.state()
		if off < size {
			n, err := l.copyRange(w, off, size)
			off += n
			if err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if !follow || (ended && off >= size) {
			return
		}
		if off >= size {
			select {
			case <-notify:
			case <-ctx.Done():
				return
			}
		}
	}
}
