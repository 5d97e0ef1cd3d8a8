package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tickLines checks c-sleep's complete output for n ticks.
func checkSleepOutput(t *testing.T, got string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != n+2 || lines[n] != "clock ok" || !strings.HasPrefix(lines[n+1], "done checksum") {
		t.Fatalf("c-sleep %d output is not whole: %q", n, got)
	}
	for i := 0; i < n; i++ {
		if !strings.HasPrefix(lines[i], fmt.Sprintf("tick %d ", i)) {
			t.Fatalf("line %d is %q, want tick %d", i, lines[i], i)
		}
	}
}

func status(t *testing.T, url, id string) Instance {
	t.Helper()
	var in Instance
	if code := do(t, "GET", url+"/v1/instances/"+id, nil, &in); code != 200 {
		t.Fatalf("get %s: %d", id, code)
	}
	return in
}

// silentListener accepts connections and never answers on them.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestStalledDestinationAtBegin: a destination that accepts TCP and never
// answers fails the move within the begin patience; the instance never
// stopped running.
func TestStalledDestinationAtBegin(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) {
		c.PeerTimeout, c.BeginTimeout = 500*time.Millisecond, time.Second
	})
	in := a.startProgram(t, "c-sleep", "200")
	_, err := migrate(t, a.url, in.ID, silentListener(t))
	if err == nil || !strings.Contains(err.Error(), "no progress") || !strings.Contains(err.Error(), "still runs on the source") {
		t.Fatalf("migrate to a silent node: %v, want a migration_failed for lack of progress", err)
	}
	if st := status(t, a.url, in.ID).Status; st != statusRunning {
		t.Fatalf("after the failed move the instance is %s, want running", st)
	}
	end := wait(t, a.url, in.ID)
	if end.ExitCode != 0 {
		t.Fatalf("exit %d %s", end.ExitCode, end.Error)
	}
	checkSleepOutput(t, logs(t, a.url, in.ID, "stdout"), 200)
}

// TestStalledDestinationAtPrepare: a destination that takes the begin and
// the pre-copy but never answers the final state (the guest is paused by
// then) fails the move after the peer timeout, and the guest runs on at the
// source.
func TestStalledDestinationAtPrepare(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) { c.PeerTimeout = 500 * time.Millisecond })
	b := startNode(t, "b", t.TempDir())
	target, _ := url.Parse(b.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	stuck := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/prepare") {
			<-stuck // never reads the body nor answers
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		close(stuck)
		srv.Close()
	})

	in := a.startProgram(t, "c-sleep", "60")
	_, err = migrate(t, a.url, in.ID, "http://"+ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "stop-and-copy") || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("migrate to a node that stalls at prepare: %v, want a stop-and-copy failure for lack of progress", err)
	}
	if st := status(t, a.url, in.ID).Status; st != statusRunning {
		t.Fatalf("after the failed move the instance is %s, want running", st)
	}
	end := wait(t, a.url, in.ID)
	if end.ExitCode != 0 || end.Node != "a" {
		t.Fatalf("exit %d on %s: %s", end.ExitCode, end.Node, end.Error)
	}
	checkSleepOutput(t, logs(t, a.url, in.ID, "stdout"), 60)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(b.list()) != 0 || b.incomingCount() != 0 { // the abort reached b
		if ctx.Err() != nil {
			t.Fatalf("b still holds the aborted migration")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *Node) incomingCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.incoming)
}
