package wasi

import (
	"io"
	"sync"
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
	started   bool
	closed    bool
	delivered uint64        // bytes handed to the guest
	ready     chan struct{} // signalled when data or EOF arrives
	room      chan struct{} // signalled when the guest took data
}

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
	if !p.started && !p.eof && !p.closed {
		p.started = true
		go p.run()
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

func (p *stdinPump) run() {
	tmp := make([]byte, 32<<10)
	for {
		if !p.waitRoom() {
			return
		}
		n, err := p.r.Read(tmp)
		p.mu.Lock()
		p.buf = append(p.buf, tmp[:n]...)
		if err != nil { // any read error ends the stream for the guest
			p.eof = true
		}
		p.mu.Unlock()
		signal(p.ready)
		if err != nil {
			return
		}
	}
}

// waitRoom blocks while the buffer is full; false once the pump is closed.
func (p *stdinPump) waitRoom() bool {
	for {
		p.mu.Lock()
		full, closed := len(p.buf) >= maxStdinBuffer, p.closed
		p.mu.Unlock()
		if closed {
			return false
		}
		if !full {
			return true
		}
		<-p.room
	}
}

func (p *stdinPump) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	signal(p.room)
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
