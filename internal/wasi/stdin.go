package wasi

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// maxStdinBuffer bounds how far the pump reads ahead of the guest.
const maxStdinBuffer = 64 << 10

// stdinPump reads the real stdin on its own goroutine into a buffer, so that
// a guest read blocked on stdin can be interrupted without losing data: bytes
// taken from the real reader but not yet delivered stay in buf, and buf is
// part of the saved state. The goroutine starts at the first read.
type stdinPump struct {
	r         io.Reader
	mu        sync.Mutex
	buf       []byte
	eof       bool
	running   bool
	stopped   bool          // detached or closed: start no read
	closed    bool          // for good
	done      chan struct{} // closed when the running goroutine exits
	delivered uint64        // bytes handed to the guest
	ready     chan struct{} // signalled when data or EOF arrives
	room      chan struct{} // signalled when the guest took data
}

// deadliner is a reader whose pending Read can be aborted (os.File pipes in
// non-blocking mode, net.Conn).
type deadliner interface{ SetReadDeadline(time.Time) error }

func newStdinPump(r io.Reader) *stdinPump {
	return &stdinPump{r: r, eof: r == nil,
		ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// poll reports how many bytes are buffered and whether EOF was reached,
// starting the reader goroutine if needed.
func (p *stdinPump) poll() (n int, eof bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running && !p.eof && !p.stopped {
		p.running, p.done = true, make(chan struct{})
		go p.run(p.done)
	}
	return len(p.buf), p.eof
}

// take moves up to len(dst) buffered bytes into dst.
func (p *stdinPump) take(dst []byte) int {
	p.mu.Lock()
	n := copy(dst, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.delivered += uint64(n)
	p.mu.Unlock()
	signal(p.room)
	return n
}

func (p *stdinPump) run(done chan struct{}) {
	defer close(done)
	clearDeadline(p.r) // a detached Host may have left one on a shared reader
	tmp := make([]byte, 32<<10)
	for p.waitRoom() {
		n, err := p.r.Read(tmp)
		// A deadline is only ever set by detach: not the end of the stream.
		aborted := errors.Is(err, os.ErrDeadlineExceeded)
		ended := err != nil && !aborted
		p.mu.Lock()
		p.buf = append(p.buf, tmp[:n]...)
		if ended { // any other error ends the stream
			p.eof, p.running = true, false
		}
		if aborted && !p.stopped { // attached again meanwhile
			clearDeadline(p.r)
		}
		p.mu.Unlock()
		signal(p.ready)
		if ended {
			return
		}
	}
}

func clearDeadline(r io.Reader) {
	if d, ok := r.(deadliner); ok {
		d.SetReadDeadline(time.Time{})
	}
}

// waitRoom blocks while the buffer is full; false (and not running) once
// the pump is stopped.
func (p *stdinPump) waitRoom() bool {
	for {
		p.mu.Lock()
		full, stopped := len(p.buf) >= maxStdinBuffer, p.stopped
		if stopped {
			p.running = false
		}
		p.mu.Unlock()
		if stopped {
			return false
		}
		if !full {
			return true
		}
		<-p.room
	}
}

// detach stops reading. A read in progress is aborted through a read
// deadline if the reader supports one; detach then waits up to wait for the
// goroutine to exit and reports whether it did (so that every byte taken
// from the reader is in buf).
func (p *stdinPump) detach(wait time.Duration) bool {
	p.mu.Lock()
	p.stopped = true
	running, done := p.running, p.done
	p.mu.Unlock()
	signal(p.room)
	if !running {
		return true
	}
	if d, ok := p.r.(deadliner); ok {
		d.SetReadDeadline(time.Unix(1, 0))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// attach undoes detach: reading resumes at the guest's next stdin read.
func (p *stdinPump) attach() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	clearDeadline(p.r)
	p.stopped = false
}

// close stops the pump for good, aborting a pending read where possible.
func (p *stdinPump) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.detach(0)
}

// snapshot returns the undelivered bytes, the EOF flag and the delivered count.
func (p *stdinPump) snapshot() ([]byte, bool, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.buf...), p.eof, p.delivered
}

// restore puts back saved undelivered bytes. EOF stays reached once reached.
func (p *stdinPump) restore(buf []byte, eof bool, delivered uint64) {
	p.mu.Lock()
	p.buf, p.delivered = buf, delivered
	p.eof = p.eof || eof
	p.mu.Unlock()
}
