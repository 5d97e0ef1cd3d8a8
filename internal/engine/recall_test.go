package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/roam-edge/roam/internal/wasi"
)

// TestPausesAroundBlockingReads: pauses in place (pause, Continue, run
// again) land both inside fd_read while it waits, which must call the read
// again on resume, and in the instant after a read returned, which must
// not. An interrupted read once left its mark on the instance, so that
// every later pause after a completed read replayed it and the bytes it
// had read were lost.
func TestPausesAroundBlockingReads(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wat/echo.wasm")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []Kind{Compiler, Interpreter} {
		t.Run(string(kind), func(t *testing.T) {
			rt, err := NewRuntime(Config{Kind: kind, CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			m, err := rt.Load("echo", b, true)
			if err != nil {
				t.Fatal(err)
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			var out syncBuffer
			in, err := rt.Start(context.Background(), m, wasi.Config{Args: []string{"echo"}, Stdin: pr, Stdout: &out})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(context.Background())
			run := func() <-chan error {
				done := make(chan error, 1)
				go func() {
					code, err := in.Run(context.Background())
					if err == nil && code != 0 {
						err = fmt.Errorf("exit code %d", code)
					}
					done <- err
				}()
				return done
			}
			pauseInPlace := func(done <-chan error) <-chan error {
				in.Pause()
				select {
				case err := <-done:
					if !errors.Is(err, ErrPaused) {
						t.Fatalf("run after a pause: %v, want ErrPaused", err)
					}
				case <-time.After(time.Minute):
					t.Fatal("no pause within a minute")
				}
				if err := in.Continue(); err != nil {
					t.Fatal(err)
				}
				return run()
			}
			done := run()
			time.Sleep(50 * time.Millisecond) // waiting in fd_read
			done = pauseInPlace(done)
			var want bytes.Buffer
			for i := range 200 {
				line := fmt.Sprintf("line %03d\n", i)
				want.WriteString(line)
				if _, err := pw.WriteString(line); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					time.Sleep(time.Duration(i%7) * 100 * time.Microsecond)
				}
				done = pauseInPlace(done)
			}
			pw.Close()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run to the end of input: %v", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("echo did not end within a minute of its input's end")
			}
			if got := out.String(); got != want.String() {
				t.Errorf("echo lost or doubled input across pauses:\n got %q\nwant %q", got, want.String())
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
