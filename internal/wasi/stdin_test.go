package wasi

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// waitBuffered waits until the stdin pump holds n bytes.
func waitBuffered(t *testing.T, h *Host, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ := h.stdin.poll(); got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("stdin pump never buffered %d bytes", n)
}

func TestStdinInterruptKeepsData(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	x, _ := newTestHost(t, Config{Stdin: pr})

	// A read blocked on stdin is woken by Interrupt with nothing delivered.
	go func() {
		time.Sleep(50 * time.Millisecond)
		x.h.Interrupt()
	}()
	if e, s := x.read(0, 16); e != EINTR || s != "" || !x.h.TakeInterrupted() {
		t.Fatalf("interrupted read: %v %q", e, s)
	}
	// Data that arrives while paused is taken from the real reader...
	if _, err := pw.Write([]byte("hello, migrated world")); err != nil {
		t.Fatal(err)
	}
	waitBuffered(t, x.h, 21)
	// ...delivered in part, and the rest travels in the state.
	x.h.ClearInterrupt()
	if e, s := x.read(0, 7); e != ESUCCESS || s != "hello, " {
		t.Fatalf("partial read %v %q", e, s)
	}
	state := x.save()
	sum, err := Describe(state)
	must(t, err)
	if sum.StdinBuffered != 14 || sum.StdinRead != 7 {
		t.Errorf("summary stdin buffered %d read %d", sum.StdinBuffered, sum.StdinRead)
	}
	h, err := Restore(Config{Stdin: strings.NewReader(" and more")}, state)
	must(t, err)
	x.swap(h)
	var got bytes.Buffer
	for i := 0; i < 100; i++ {
		e, s := x.read(0, 5)
		if e != ESUCCESS {
			t.Fatal(e)
		}
		if s == "" {
			break
		}
		got.WriteString(s)
	}
	if got.String() != "migrated world and more" {
		t.Errorf("after restore read %q", got.String())
	}
}

func TestStdinBlockingAndNonblocking(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	x, _ := newTestHost(t, Config{Stdin: pr})
	go func() {
		time.Sleep(30 * time.Millisecond)
		pw.Write([]byte("abc"))
	}()
	if e, s := x.read(0, 16); e != ESUCCESS || s != "abc" {
		t.Fatalf("blocking read: %v %q", e, s)
	}
	if e := x.call("fd_fdstat_set_flags", 0, uint64(fdflagNonblock)); e != ESUCCESS {
		t.Fatal(e)
	}
	if e, _ := x.read(0, 16); e != EAGAIN {
		t.Errorf("nonblocking read with no data: %v", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	x.call("fd_fdstat_set_flags", 0, 0)
	if e, _ := x.readCtx(ctx, 0, 16); e != EINTR || !x.h.TakeInterrupted() {
		t.Errorf("read with an ending context: %v", e)
	}
	pw.Close()
	if e, s := x.read(0, 16); e != ESUCCESS || s != "" {
		t.Errorf("EOF: %v %q", e, s)
	}
}

func TestNilStdin(t *testing.T) {
	x, _ := newTestHost(t, Config{})
	if e, s := x.read(0, 8); e != ESUCCESS || s != "" {
		t.Errorf("nil stdin: %v %q", e, s)
	}
}

func TestDetachStdinLeavesDataInThePipe(t *testing.T) {
	r, w, err := os.Pipe() // non-blocking: its reads can be aborted
	must(t, err)
	defer r.Close()
	defer w.Close()
	x, _ := newTestHost(t, Config{Stdin: r})
	go func() {
		time.Sleep(30 * time.Millisecond)
		x.h.Interrupt()
	}()
	if e, _ := x.read(0, 8); e != EINTR || !x.h.TakeInterrupted() {
		t.Fatalf("interrupted read: %v", e)
	}
	if !x.h.DetachStdin(5 * time.Second) {
		t.Fatal("pending stdin read not aborted")
	}
	w.Write([]byte("after"))
	state := x.save()
	if sum, _ := Describe(state); sum.StdinBuffered != 0 || sum.StdinEOF {
		t.Fatalf("detached host took data: %+v", sum)
	}
	h, err := Restore(Config{Stdin: r}, state)
	must(t, err)
	y := newHarness(t, h)
	if e, s := y.read(0, 8); e != ESUCCESS || s != "after" {
		t.Errorf("restored host read %v %q", e, s)
	}
	// A failed move: the destination lets go, the source attaches again.
	if !y.h.DetachStdin(5 * time.Second) {
		t.Fatal("destination read not aborted")
	}
	x.h.ClearInterrupt()
	x.h.AttachStdin()
	w.Write([]byte("again"))
	if e, s := x.read(0, 8); e != ESUCCESS || s != "again" {
		t.Errorf("re-attached read %v %q", e, s)
	}
}
