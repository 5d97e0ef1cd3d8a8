package wasi

import (
	"bytes"
	"context"
	"io"
	"math"
	"time"
)

// pendingPoll remembers an interrupted poll_oneoff: its subscription bytes
// and the guest-monotonic deadline of each clock subscription. When the
// guest makes the identical call again (after a resume), the clocks keep
// their deadlines, so only the remaining time is waited.
type pendingPoll struct {
	subs      []byte
	deadlines []int64
}

// subscription is a decoded subscription.
type subscription struct {
	userdata uint64
	tag      uint8
	fd       uint32
	deadline int64 // clock: guest monotonic deadline, or realtime if real
	real     bool  // absolute realtime clock
	errno    Errno // clock with an unknown id
}

// event is a ready subscription.
type event struct {
	userdata uint64
	errno    Errno
	tag      uint8
	nbytes   uint64
	hangup   bool
}

func (h *Host) pollOneoff(ctx context.Context, mem Memory, in, out, nsubs, nout uint32) Errno {
	if nsubs == 0 || nsubs > 1<<20 {
		return EINVAL
	}
	b, ok := view(mem, in, nsubs*subscriptionSize)
	_, okOut := view(mem, out, nsubs*eventSize)
	_, okN := view(mem, nout, 4)
	if !ok || !okOut || !okN {
		return EFAULT
	}
	raw := bytes.Clone(b)
	subs, errno := h.decodeSubs(raw)
	if errno != ESUCCESS {
		return errno
	}
	for {
		events, d, wake := h.pollReady(subs)
		if len(events) > 0 {
			h.poll = nil
			writeEvents(mem, out, nout, events)
			return ESUCCESS
		}
		if !h.wait(ctx, wake, d) {
			h.poll = &pendingPoll{subs: raw, deadlines: deadlinesOf(subs)}
			return EINTR
		}
	}
}

// decodeSubs decodes the subscriptions, reusing the deadlines of an
// interrupted identical call.
func (h *Host) decodeSubs(raw []byte) ([]subscription, Errno) {
	var saved []int64
	if h.poll != nil && bytes.Equal(h.poll.subs, raw) {
		saved = h.poll.deadlines
	}
	h.poll = nil
	now := h.clock.now()
	subs := make([]subscription, len(raw)/subscriptionSize)
	for i := range subs {
		b := raw[i*subscriptionSize:]
		s := subscription{userdata: le.Uint64(b), tag: b[8], fd: le.Uint32(b[16:])}
		switch s.tag {
		case eventTypeClock:
			s.decodeClock(b[16:], now)
			if saved != nil && !s.real && s.errno == ESUCCESS {
				s.deadline = saved[i]
			}
		case eventTypeFdRead, eventTypeFdWrite:
		default:
			return nil, EINVAL
		}
		subs[i] = s
	}
	return subs, ESUCCESS
}

// decodeClock reads subscription_clock: id u32, timeout u64 at 8, flags u16 at 24.
func (s *subscription) decodeClock(b []byte, now int64) {
	id, timeout, flags := le.Uint32(b), le.Uint64(b[8:]), le.Uint16(b[24:])
	abs := flags&subclockAbstime != 0
	if timeout > math.MaxInt64 {
		timeout = math.MaxInt64
	}
	switch id {
	case clockRealtime, clockMonotonic, clockProcessCPUTime, clockThreadCPUTime:
	default:
		s.errno = EINVAL
		return
	}
	switch {
	case abs && id == clockRealtime:
		s.real, s.deadline = true, int64(timeout)
	case abs:
		s.deadline = int64(timeout)
	case int64(timeout) > math.MaxInt64-now:
		s.deadline = math.MaxInt64
	default:
		s.deadline = now + int64(timeout)
	}
}

func deadlinesOf(subs []subscription) []int64 {
	d := make([]int64, len(subs))
	for i, s := range subs {
		if s.tag == eventTypeClock {
			d[i] = s.deadline
		}
	}
	return d
}

// pollReady returns the ready events; if none, how long to wait (-1: no
// clock) and the channel that signals stdin data.
func (h *Host) pollReady(subs []subscription) ([]event, time.Duration, chan struct{}) {
	var events []event
	var wake chan struct{}
	wait := time.Duration(-1)
	now := h.clock.now()
	for _, s := range subs {
		if s.tag != eventTypeClock {
			ev, ready := h.fdReady(s)
			if ready {
				events = append(events, ev)
			} else {
				wake = h.stdin.ready
			}
			continue
		}
		left := s.deadline - now
		if s.real {
			left = s.deadline - h.now().UnixNano()
		}
		if s.errno != ESUCCESS || left <= 0 {
			events = append(events, event{userdata: s.userdata, errno: s.errno, tag: s.tag})
		} else if wait < 0 || time.Duration(left) < wait {
			wait = time.Duration(left)
		}
	}
	return events, wait, wake
}

// fdReady checks an fd_read or fd_write subscription. Only stdin can be not
// ready; files are always ready.
func (h *Host) fdReady(s subscription) (event, bool) {
	ev := event{userdata: s.userdata, tag: s.tag}
	e, errno := h.lookup(s.fd)
	if errno != ESUCCESS {
		ev.errno = errno
		return ev, true
	}
	read := s.tag == eventTypeFdRead
	switch {
	case e.kind == kindStdin && read:
		n, eof := h.stdin.poll()
		if n == 0 && !eof {
			return ev, false
		}
		ev.nbytes, ev.hangup = uint64(n), eof && n == 0
	case e.kind == kindFile && read:
		ev.nbytes = fileRemaining(e)
	case e.kind == kindFile, !read && (e.kind == kindStdout || e.kind == kindStderr):
	case e.kind == kindSocket:
		ev.errno = ENOTSUP
	default:
		ev.errno = EBADF
	}
	return ev, true
}

// fileRemaining is how many bytes a read at the current offset could return.
func fileRemaining(e *entry) uint64 {
	fi, err1 := e.file.Stat()
	pos, err2 := e.file.Seek(0, io.SeekCurrent)
	if err1 != nil || err2 != nil || fi.Size() < pos {
		return 0
	}
	return uint64(fi.Size() - pos)
}

func writeEvents(mem Memory, out, nout uint32, events []event) {
	b := make([]byte, len(events)*eventSize)
	for i, ev := range events {
		o := b[i*eventSize:]
		le.PutUint64(o, ev.userdata)
		le.PutUint16(o[8:], uint16(ev.errno))
		o[10] = ev.tag
		le.PutUint64(o[16:], ev.nbytes)
		if ev.hangup {
			le.PutUint16(o[24:], eventRWFlagHangup)
		}
	}
	mem.Write(out, b)
	writeU32(mem, nout, uint32(len(events)))
}
