package wasi

import (
	"context"
	"sync"
	"time"
)

// interruptor is a level-triggered wake-up: while set, its channel is closed.
type interruptor struct {
	mu sync.Mutex
	on bool
	ch chan struct{}
}

func (i *interruptor) init() { i.ch = make(chan struct{}) }

func (i *interruptor) set() {
	i.mu.Lock()
	if !i.on {
		i.on = true
		close(i.ch)
	}
	i.mu.Unlock()
}

func (i *interruptor) clear() {
	i.mu.Lock()
	if i.on {
		i.on = false
		i.ch = make(chan struct{})
	}
	i.mu.Unlock()
}

// done returns a channel that is closed while the interrupt is set.
func (i *interruptor) done() <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.ch
}

// wait blocks until wake fires (true), or the deadline timer d fires (true;
// d < 0 means no timer), or an interrupt or the end of ctx comes first
// (false: the caller must return without side effects and the Host records
// the interruption).
func (h *Host) wait(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	if ctx == nil {
		ctx = context.Background()
	}
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-wake:
		return true
	case <-timeout:
		return true
	case <-h.intr.done():
	case <-ctx.Done():
	}
	h.interrupted = true
	return false
}

// monoClock is the guest monotonic clock: it starts at a saved value and
// advances with the host's monotonic clock, except while paused.
type monoClock struct {
	mu     sync.Mutex
	base   int64
	start  time.Time
	paused bool
}

func (c *monoClock) reset(base int64) {
	c.mu.Lock()
	c.base, c.start, c.paused = base, time.Now(), false
	c.mu.Unlock()
}

func (c *monoClock) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused {
		return c.base
	}
	return c.base + int64(time.Since(c.start))
}

func (c *monoClock) pause() {
	c.mu.Lock()
	if !c.paused {
		c.base += int64(time.Since(c.start))
		c.paused = true
	}
	c.mu.Unlock()
}

func (c *monoClock) resume() {
	c.mu.Lock()
	if c.paused {
		c.start, c.paused = time.Now(), false
	}
	c.mu.Unlock()
}
