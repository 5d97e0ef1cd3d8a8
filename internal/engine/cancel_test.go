package engine

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/roam-edge/roam/internal/wasi"
)

// TestCloseOnCancelStopsASleepingGuest: cancelling the context of Run stops
// a non-migratable guest that spends its time in poll_oneoff (the node
// agent's stop). An interrupted blocking call once took the unwind path of
// migratable instances and deadlocked the instance's mutex.
func TestCloseOnCancelStopsASleepingGuest(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wasm/c-demo.wasm")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := NewRuntime(Config{CacheDir: t.TempDir(), CloseOnCancel: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Load("demo", b, false)
	if err != nil {
		t.Fatal(err)
	}
	in, err := rt.Start(context.Background(), m, wasi.Config{Args: []string{"demo", "1000"}, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := in.Run(ctx)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v, want the guest closed with an exit code", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the guest still runs 10 s after its context was cancelled")
	}
}
