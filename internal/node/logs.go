package node

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/roam-edge/roam/internal/atomicfile"
)

// logFile is an instance's captured stdout or stderr: an append-only
// stream that followers read from any offset while the guest writes.
//
// With a cap, it keeps only its last bytes, in two files: PATH, being
// written, and PATH.1, the one before. When PATH reaches half the cap it
// becomes PATH.1 (the older one goes) and a new PATH starts, so between
// half the cap and the cap is kept. Offsets stay those of the whole
// stream: PATH.base holds the offset of the oldest byte kept.
type logFile struct {
	mu     sync.Mutex
	path   string
	max    int64         // bytes kept at most; 0: all
	cur    *segment      // being written
	old    *segment      // the one before, or nil
	size   int64         // offset of the end of the stream
	pins   int           // migration rounds reading it: no rotation meanwhile
	notify chan struct{} // closed and replaced at every write and at close
	ended  bool          // no more writes here: the instance ended or left
}

// segment is one file of a log; it closes when rotated out and no reader
// holds it any more.
type segment struct {
	f    *os.File
	base int64 // offset of its first byte in the stream
	refs int
	gone bool
}

// errRotated: the bytes asked for were rotated away.
var errRotated = errors.New("log bytes rotated away")

func openLog(path string, truncate bool, max int64) (*logFile, error) {
	l := &logFile{path: path, max: max, notify: make(chan struct{})}
	base := int64(0)
	if truncate {
		os.Remove(path + ".1")
		os.Remove(path + ".base")
	} else if b, err := os.ReadFile(path + ".base"); err == nil {
		base, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if f, err := os.OpenFile(path+".1", os.O_RDONLY, 0); err == nil && !truncate {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		l.old = &segment{f: f, base: base}
		base += fi.Size()
	}
	flags := os.O_RDWR | os.O_CREATE | os.O_APPEND
	if truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		l.closeOld()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		l.closeOld()
		return nil, err
	}
	l.cur = &segment{f: f, base: base}
	l.size = base + fi.Size()
	return l, nil
}

// Write appends guest output. It never fails the guest: a full disk loses
// output, not the instance.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for rest := p; len(rest) > 0; {
		chunk := rest
		if l.max > 0 && l.pins == 0 {
			half := max(l.max/2, 1)
			if l.size-l.cur.base >= half {
				l.rotateLocked()
			}
			if room := half - (l.size - l.cur.base); room > 0 && int64(len(chunk)) > room {
				chunk = chunk[:room]
			}
		}
		n, err := l.cur.f.Write(chunk)
		l.size += int64(n)
		if err != nil {
			break
		}
		rest = rest[len(chunk):]
	}
	l.wakeLocked()
	return len(p), nil
}

// rotateLocked makes the current file the old one, dropping the old one.
// On failure the log keeps growing in the current file.
func (l *logFile) rotateLocked() {
	f, err := os.OpenFile(l.path+".new", os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		f.Close()
		return
	}
	os.Rename(l.path+".new", l.path)
	_ = atomicfile.WriteBytes(l.path+".base", []byte(strconv.FormatInt(l.cur.base, 10)))
	l.closeOld()
	l.old, l.cur = l.cur, &segment{f: f, base: l.size}
}

// closeOld drops the old segment, closed once its readers are done.
func (l *logFile) closeOld() {
	if l.old == nil {
		return
	}
	l.old.gone = true
	if l.old.refs == 0 {
		l.old.f.Close()
	}
	l.old = nil
}

// oldest is the offset of the oldest byte kept.
func (l *logFile) oldest() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.oldestLocked()
}

func (l *logFile) oldestLocked() int64 {
	if l.old != nil {
		return l.old.base
	}
	return l.cur.base
}

// pin holds back rotation while a migration round reads the log, so that
// the bytes it sends stay; unpin lets it rotate again.
func (l *logFile) pin() {
	l.mu.Lock()
	l.pins++
	l.mu.Unlock()
}

func (l *logFile) unpin() {
	l.mu.Lock()
	l.pins--
	l.mu.Unlock()
}

// skipTo starts the log anew at offset off, past its end: a destination
// receiving a log whose first bytes the source no longer keeps.
func (l *logFile) skipTo(off int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if off <= l.size {
		return nil
	}
	return l.restartLocked(off)
}

// restartLocked empties the log; its next byte has offset off.
func (l *logFile) restartLocked(off int64) error {
	l.closeOld()
	os.Remove(l.path + ".1")
	if err := l.cur.f.Truncate(0); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(l.path+".base", []byte(strconv.FormatInt(off, 10))); err != nil {
		return err
	}
	l.cur.base, l.size = off, off
	return nil
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

func (l *logFile) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeOld()
	return l.cur.f.Close()
}

// truncate cuts the stream back to size bytes, when an instance resumes
// from a checkpoint taken at that size. When that cut falls before the
// current file, the log starts anew at size: the older bytes kept go too.
func (l *logFile) truncate(size int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case size >= l.size:
		return nil
	case size < l.cur.base:
		return l.restartLocked(size)
	}
	if err := l.cur.f.Truncate(size - l.cur.base); err != nil {
		return err
	}
	l.size = size
	return nil
}

// acquire returns the segment holding offset off and where it ends, held
// open until release; nil when off was rotated away.
func (l *logFile) acquire(off int64) (*segment, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case off >= l.cur.base:
		l.cur.refs++
		return l.cur, l.size
	case l.old != nil && off >= l.old.base:
		l.old.refs++
		return l.old, l.cur.base
	}
	return nil, 0
}

func (l *logFile) release(s *segment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.refs--
	if s.gone && s.refs == 0 {
		s.f.Close()
	}
}

// copyRange copies bytes [off, end) of the log to w; errRotated when some
// of them are no longer kept.
func (l *logFile) copyRange(w io.Writer, off, end int64) (int64, error) {
	var total int64
	for off < end {
		s, segEnd := l.acquire(off)
		if s == nil {
			return total, errRotated
		}
		k, err := io.Copy(w, io.NewSectionReader(s.f, off-s.base, min(end, segEnd)-off))
		l.release(s)
		total, off = total+k, off+k
		if err != nil {
			return total, err
		}
		if k == 0 {
			return total, io.ErrUnexpectedEOF
		}
	}
	return total, nil
}

// serve writes the log from off; with follow it goes on until the log ends
// (the instance ended or moved away) or the client leaves. An offset below
// the oldest byte kept starts there: the header Roam-Log-Offset says where
// the answer starts. A follower that falls behind the rotation is cut off,
// and asks again from where it is.
func (l *logFile) serve(ctx context.Context, w http.ResponseWriter, off int64, follow bool) {
	off = max(off, l.oldest())
	w.Header().Set("Roam-Log-Offset", strconv.FormatInt(off, 10))
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
