package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLogsFollowAcrossMove: node A streams the start of stdout, then the
// instance moves to B; the client asks again from the offset it reached,
// is redirected to B, and gets the rest exactly once.
func TestLogsFollowAcrossMove(t *testing.T) {
	for _, broken := range []bool{false, true} {
		name := map[bool]string{false: "stream ends", true: "connection drops"}[broken]
		t.Run(name, func(t *testing.T) { testLogsFollow(t, broken) })
	}
}

func testLogsFollow(t *testing.T, broken bool) {
	const full = "hello world\n"
	var (
		mu      sync.Mutex
		queries []string
		ended   atomic.Bool
	)
	b := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		switch r.URL.Path {
		case "/v1/instances/i-1":
			writeJSON(w, http.StatusOK, Instance{ID: "i-1", Status: map[bool]Status{false: StatusRunning, true: StatusExited}[ended.Load()]})
		case "/v1/instances/i-1/stdout":
			mu.Lock()
			queries = append(queries, r.URL.RawQuery)
			mu.Unlock()
			io.WriteString(w, full[offset(t, r):])
			ended.Store(true)
		}
	})
	var served atomic.Bool
	a := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/instances/i-1/stdout" || served.Swap(true) {
			moved(w, r, b.URL)
			return
		}
		io.WriteString(w, full[:6])
		w.(http.Flusher).Flush()
		if broken {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}
	})
	var out bytes.Buffer
	if err := newClient(t, a.URL).Logs(context.Background(), "i-1", Stdout, true, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != full {
		t.Fatalf("got %q, want %q", out.String(), full)
	}
	mu.Lock()
	got := strings.Join(queries, ",")
	mu.Unlock()
	if want := "follow=1&offset=6,offset=12"; got != want {
		t.Fatalf("B was asked %q, want %q", got, want)
	}
}

func offset(t *testing.T, r *http.Request) int {
	var n int
	if s := r.URL.Query().Get("offset"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			t.Errorf("offset %q: %v", s, err)
		}
	}
	return n
}

func TestLogsNoFollow(t *testing.T) {
	srv := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			t.Errorf("query %q, want none", r.URL.RawQuery)
		}
		io.WriteString(w, strings.TrimPrefix(r.URL.Path, "/v1/instances/i-1/"))
	})
	c := newClient(t, srv.URL)
	for _, stream := range []string{Stdout, Stderr} {
		var out bytes.Buffer
		if err := c.Logs(context.Background(), "i-1", stream, false, &out); err != nil || out.String() != stream {
			t.Fatalf("%s: got %q, %v", stream, out.String(), err)
		}
	}
	if err := c.Logs(context.Background(), "i-1", "stdin", false, io.Discard); err == nil {
		t.Fatal("stream stdin: no error")
	}
}

// TestLogsSkipRotated: a node that no longer keeps the first bytes of a log
// answers from its oldest byte kept, with Roam-Log-Offset; a follower asks
// on from the offset that gives, not from the bytes it counted.
func TestLogsSkipRotated(t *testing.T) {
	const kept, start = "world\n", 100 // the log is 106 bytes, the first 100 rotated away
	var (
		mu      sync.Mutex
		queries []string
		calls   atomic.Int32
	)
	a := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		switch r.URL.Path {
		case "/v1/instances/i-1":
			writeJSON(w, http.StatusOK, Instance{ID: "i-1", Status: map[bool]Status{false: StatusRunning, true: StatusExited}[calls.Load() > 1]})
		case "/v1/instances/i-1/stdout":
			mu.Lock()
			queries = append(queries, r.URL.RawQuery)
			mu.Unlock()
			calls.Add(1)
			off := max(offset(t, r), start)
			w.Header().Set("Roam-Log-Offset", fmt.Sprint(off))
			io.WriteString(w, kept[off-start:])
		}
	})
	var out bytes.Buffer
	if err := newClient(t, a.URL).Logs(context.Background(), "i-1", Stdout, true, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != kept {
		t.Fatalf("got %q, want %q", out.String(), kept)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queries) < 2 || queries[1] != "follow=1&offset=106" && queries[1] != "offset=106" {
		t.Fatalf("asked %q, want the second request from offset 106", queries)
	}
}
