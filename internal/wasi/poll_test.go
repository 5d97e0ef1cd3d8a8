package wasi

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

func clockSub(userdata uint64, id uint32, timeout time.Duration, flags uint16) []byte {
	b := make([]byte, subscriptionSize)
	binary.LittleEndian.PutUint64(b, userdata)
	b[8] = eventTypeClock
	binary.LittleEndian.PutUint32(b[16:], id)
	binary.LittleEndian.PutUint64(b[24:], uint64(timeout))
	binary.LittleEndian.PutUint16(b[40:], flags)
	return b
}

func fdSub(userdata uint64, tag uint8, fd uint32) []byte {
	b := make([]byte, subscriptionSize)
	binary.LittleEndian.PutUint64(b, userdata)
	b[8] = tag
	binary.LittleEndian.PutUint32(b[16:], fd)
	return b
}

type testEvent struct {
	userdata uint64
	errno    Errno
	tag      uint8
	nbytes   uint64
	flags    uint16
}

// poll calls poll_oneoff with subs and decodes the events.
func (x *harness) poll(ctx context.Context, subs ...[]byte) (Errno, []testEvent) {
	var all []byte
	for _, s := range subs {
		all = append(all, s...)
	}
	in, _ := x.bytesAt(all)
	out, nout := x.alloc(uint32(len(subs)*eventSize)), x.alloc(4)
	binary.LittleEndian.PutUint32(x.mem.b[nout:], 0xffff)
	errno := x.callCtx(ctx, "poll_oneoff", in, uint64(out), uint64(len(subs)), uint64(nout))
	if errno != ESUCCESS {
		if x.u32(nout) != 0xffff {
			x.t.Errorf("poll_oneoff failed with %v but wrote nevents", errno)
		}
		return errno, nil
	}
	var evs []testEvent
	for i := uint32(0); i < x.u32(nout); i++ {
		b := x.mem.b[out+i*eventSize:]
		evs = append(evs, testEvent{binary.LittleEndian.Uint64(b), Errno(binary.LittleEndian.Uint16(b[8:])),
			b[10], binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint16(b[24:])})
	}
	return errno, evs
}

func (x *harness) monotonic() time.Duration {
	out := x.alloc(8)
	x.call("clock_time_get", uint64(clockMonotonic), 1, uint64(out))
	return time.Duration(x.u64(out))
}

func TestPollClocks(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	const d = 80 * time.Millisecond
	tests := []struct {
		name string
		sub  func() []byte
		min  time.Duration
	}{
		{"relative monotonic", func() []byte { return clockSub(7, clockMonotonic, d, 0) }, d},
		{"relative realtime", func() []byte { return clockSub(7, clockRealtime, d, 0) }, d},
		{"absolute monotonic", func() []byte { return clockSub(7, clockMonotonic, x.monotonic()+d, subclockAbstime) }, d / 2},
		{"absolute realtime", func() []byte {
			return clockSub(7, clockRealtime, time.Duration(time.Now().Add(d).UnixNano()), subclockAbstime)
		}, d / 2},
		{"absolute in the past", func() []byte { return clockSub(7, clockMonotonic, 1, subclockAbstime) }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := tc.sub()
			start := time.Now()
			e, evs := x.poll(context.Background(), sub)
			el := time.Since(start)
			if e != ESUCCESS || len(evs) != 1 || evs[0].userdata != 7 || evs[0].tag != eventTypeClock || evs[0].errno != 0 {
				t.Fatalf("poll: %v %+v", e, evs)
			}
			if el < tc.min || el > 10*time.Second {
				t.Errorf("waited %v, want at least %v", el, tc.min)
			}
		})
	}
}

func TestPollFds(t *testing.T) {
	x, dir := newTestHost(t, Config{})
	writeHostFile(t, dir, "f", "12345")
	fd, _ := x.open(3, "f", 0, rightFdRead, 0)
	start := time.Now()
	e, evs := x.poll(context.Background(), clockSub(1, clockMonotonic, time.Hour, 0),
		fdSub(2, eventTypeFdWrite, 1), fdSub(3, eventTypeFdRead, fd), fdSub(4, eventTypeFdRead, 99),
		clockSub(5, 77, time.Second, 0))
	if e != ESUCCESS || time.Since(start) > 10*time.Second {
		t.Fatal(e)
	}
	want := []testEvent{{2, 0, eventTypeFdWrite, 0, 0}, {3, 0, eventTypeFdRead, 5, 0},
		{4, EBADF, eventTypeFdRead, 0, 0}, {5, EINVAL, eventTypeClock, 0, 0}}
	if len(evs) != len(want) {
		t.Fatalf("events %+v", evs)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, evs[i], want[i])
		}
	}
	if e, _ := x.poll(context.Background()); e != EINVAL {
		t.Errorf("no subscriptions: %v", e)
	}
	bad := fdSub(1, 9, 0)
	if e, _ := x.poll(context.Background(), bad); e != EINVAL {
		t.Errorf("unknown tag: %v", e)
	}
}

func TestPollInterruptKeepsRemainingTime(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	const total = 2 * time.Second
	sub := clockSub(9, clockMonotonic, total, 0)
	m0 := x.monotonic()
	go func() {
		time.Sleep(total / 2)
		x.h.Interrupt()
	}()
	start := time.Now()
	if e, _ := x.poll(context.Background(), sub); e != EINTR || !x.h.TakeInterrupted() {
		t.Fatalf("interrupted poll: %v", e)
	}
	if el := time.Since(start); el >= total {
		t.Fatalf("interrupt did not wake the poll: %v", el)
	}
	if x.h.TakeInterrupted() {
		t.Error("TakeInterrupted did not reset")
	}
	if e, _ := x.poll(context.Background(), sub); e != EINTR || !x.h.TakeInterrupted() {
		t.Fatalf("poll while interrupt is set: %v", e)
	}
	state := x.save()
	time.Sleep(100 * time.Millisecond)
	h, err := Restore(Config{}, state)
	must(t, err)
	x.swap(h)
	start = time.Now()
	e, evs := x.poll(context.Background(), sub)
	el := time.Since(start)
	if e != ESUCCESS || len(evs) != 1 || evs[0].userdata != 9 || x.h.TakeInterrupted() {
		t.Fatalf("re-called poll: %v %+v", e, evs)
	}
	if m := x.monotonic(); m-m0 < total {
		t.Errorf("guest saw only %v of a %v sleep", m-m0, total)
	}
	if el >= total {
		t.Errorf("re-call after restore waited %v: the full timeout, not the remainder", el)
	}
	if x.h.poll != nil {
		t.Error("pending poll kept after completion")
	}
}

func TestPollDifferentCallStartsFresh(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	x.h.Interrupt()
	x.poll(context.Background(), clockSub(1, clockMonotonic, time.Millisecond, 0))
	x.h.TakeInterrupted()
	x.h.ClearInterrupt()
	// Same bytes: the saved deadline (already past) applies at once.
	if e, evs := x.poll(context.Background(), clockSub(1, clockMonotonic, time.Millisecond, 0)); e != ESUCCESS || len(evs) != 1 {
		t.Fatalf("%v %+v", e, evs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if e, _ := x.poll(ctx, clockSub(2, clockMonotonic, time.Hour, 0)); e != EINTR || !x.h.TakeInterrupted() {
		t.Errorf("cancelled context: %v", e)
	}
}

func TestPollStdin(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	x, _ := newTestHost(t, Config{Stdin: pr})
	go func() {
		time.Sleep(50 * time.Millisecond)
		pw.Write([]byte("ping"))
	}()
	e, evs := x.poll(context.Background(), fdSub(1, eventTypeFdRead, 0), clockSub(2, clockMonotonic, time.Minute, 0))
	if e != ESUCCESS || len(evs) != 1 || evs[0].userdata != 1 || evs[0].nbytes != 4 {
		t.Fatalf("stdin poll: %v %+v", e, evs)
	}
	if e, s := x.read(0, 16); e != ESUCCESS || s != "ping" {
		t.Errorf("read %v %q", e, s)
	}
}
