package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const testToken = "s3cret"

// newNode serves h on a real TCP port for the test's duration.
func newNode(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t *testing.T, server string) *Client {
	t.Helper()
	c, err := New(server, testToken)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authorized answers 401 as a node does when the token is not ours.
func authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+testToken {
		return true
	}
	writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong token")
	return false
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// moved answers as a node that no longer holds the instance, and that has
// the node it moved to among its peers.
func moved(w http.ResponseWriter, r *http.Request, to string) {
	if r.URL.Path == "/v1/node" {
		writeJSON(w, http.StatusOK, Node{Name: "a", Peers: []string{to}})
		return
	}
	w.Header().Set("Location", to+r.URL.RequestURI())
	w.Header().Set("Roam-Moved-To", to)
	writeError(w, http.StatusTemporaryRedirect, "moved", "instance moved to "+to)
}

func TestNewServerURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "127.0.0.1:7474", want: "http://127.0.0.1:7474"},
		{in: "http://node-a:7474/", want: "http://node-a:7474"},
		{in: "https://node-a/roam/", want: "https://node-a/roam"},
		{in: "", err: "empty node URL"},
		{in: "ftp://node-a", err: "want http://HOST:PORT"},
	} {
		c, err := New(tc.in, "")
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("New(%q) error = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("New(%q): %v", tc.in, err)
		case tc.err == "" && c.Server() != tc.want:
			t.Errorf("New(%q).Server() = %q, want %q", tc.in, c.Server(), tc.want)
		}
	}
}

func TestRedirectKeepsTokenAndBody(t *testing.T) {
	b := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/instances/restore" || r.URL.Query().Get("paused") != "1" || string(body) != "SNAP" {
			writeError(w, http.StatusBadRequest, "bad_request", r.URL.String()+" "+string(body))
			return
		}
		writeJSON(w, http.StatusCreated, Instance{ID: "i-2", Status: StatusPaused})
	})
	a := newNode(t, func(w http.ResponseWriter, r *http.Request) { moved(w, r, b.URL) })
	in, err := newClient(t, a.URL).Restore(context.Background(), strings.NewReader("SNAP"), true)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != "i-2" || in.Status != StatusPaused {
		t.Fatalf("got %+v", in)
	}
}

func TestRedirectLoop(t *testing.T) {
	var a, b *httptest.Server
	a = newNode(t, func(w http.ResponseWriter, r *http.Request) { moved(w, r, b.URL) })
	b = newNode(t, func(w http.ResponseWriter, r *http.Request) { moved(w, r, a.URL) })
	_, err := newClient(t, a.URL).Stop(context.Background(), "i-1")
	if err == nil || !strings.Contains(err.Error(), "redirect loop between nodes") {
		t.Fatalf("err = %v, want a redirect loop", err)
	}
}

func TestTooManyRedirects(t *testing.T) {
	var hops atomic.Int32
	var srv *httptest.Server
	srv = newNode(t, func(w http.ResponseWriter, r *http.Request) {
		n := hops.Add(1)
		w.Header().Set("Location", srv.URL+r.URL.Path+"?hop="+string(rune('a'+n)))
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	_, err := newClient(t, srv.URL).Instance(context.Background(), "i-1")
	if err == nil || !strings.Contains(err.Error(), "more than 8 redirects") {
		t.Fatalf("err = %v, want too many redirects", err)
	}
	if got := hops.Load(); got != maxHops+1 {
		t.Fatalf("%d requests, want %d", got, maxHops+1)
	}
}

func TestErrorBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   Error
		text   string
	}{
		{"api", 404, `{"error":{"code":"not_found","message":"instance i-9 not found"}}`,
			Error{404, "not_found", "instance i-9 not found"}, "instance i-9 not found"},
		{"proxy", 502, "upstream down\n<html>", Error{502, "", "Bad Gateway: upstream down"}, "HTTP 502: Bad Gateway: upstream down"},
		{"empty", 500, "", Error{500, "", "Internal Server Error"}, "HTTP 500: Internal Server Error"},
		{"json without error", 409, `{"x":1}`, Error{409, "", `Conflict: {"x":1}`}, `HTTP 409: Conflict: {"x":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newNode(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := newClient(t, srv.URL).Pause(context.Background(), "i-9")
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if *got != tc.want || got.Error() != tc.text {
				t.Fatalf("got %+v %q, want %+v %q", *got, got.Error(), tc.want, tc.text)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = newClient(t, addr).Instances(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach node http://"+addr+": ") {
		t.Fatalf("err = %v, want cannot reach node", err)
	}
}

func TestUploadModule(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	for _, have := range []bool{true, false} {
		var posted atomic.Bool
		srv := newNode(t, func(w http.ResponseWriter, r *http.Request) {
			if !authorized(w, r) {
				return
			}
			switch {
			case r.Method == http.MethodHead && r.URL.Path == "/v1/modules/"+digest && have:
				w.WriteHeader(http.StatusOK)
			case r.Method == http.MethodHead:
				w.WriteHeader(http.StatusNotFound)
			case r.Method == http.MethodPost && r.URL.Path == "/v1/modules":
				posted.Store(true)
				body, _ := io.ReadAll(r.Body)
				s := sha256.Sum256(body)
				writeJSON(w, http.StatusOK, map[string]any{"digest": hex.EncodeToString(s[:]), "size": len(body)})
			}
		})
		got, err := newClient(t, srv.URL).UploadModule(context.Background(), wasm)
		if err != nil || got != digest || posted.Load() == have {
			t.Fatalf("have=%v: digest %q, err %v, posted %v", have, got, err, posted.Load())
		}
	}
}

func TestWaitFollowsMove(t *testing.T) {
	b := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Instance{ID: "i-1", Status: StatusExited, ExitCode: 7})
	})
	var calls atomic.Int32
	a := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// The wait began here and the instance left during it.
			writeJSON(w, http.StatusOK, Instance{ID: "i-1", Status: StatusMoved, MovedTo: b.URL})
			return
		}
		moved(w, r, b.URL)
	})
	in, err := newClient(t, a.URL).Wait(context.Background(), "i-1")
	if err != nil || in.Status != StatusExited || in.ExitCode != 7 {
		t.Fatalf("Wait = %+v, %v", in, err)
	}
}

// TestRedirectToUnknownOrigin: a redirect to an origin that the
// redirecting node does not list among its peers fails, and the token
// never reaches that origin; trusted with WithTrustedOrigins, it does.
func TestRedirectToUnknownOrigin(t *testing.T) {
	var got atomic.Value
	got.Store("")
	var requests atomic.Int32
	stranger := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		got.Store(r.Header.Get("Authorization"))
		writeJSON(w, http.StatusOK, Instance{ID: "i-1", Status: StatusExited})
	})
	a := newNode(t, func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		if r.URL.Path == "/v1/node" {
			writeJSON(w, http.StatusOK, Node{Name: "a", Peers: []string{"http://127.0.0.1:1"}})
			return
		}
		w.Header().Set("Location", stranger.URL+r.URL.RequestURI())
		writeError(w, http.StatusTemporaryRedirect, "moved", "instance moved to "+stranger.URL)
	})
	_, err := newClient(t, a.URL).Wait(context.Background(), "i-1")
	if err == nil || !strings.Contains(err.Error(), "not one of its peers") || !strings.Contains(err.Error(), strings.TrimPrefix(stranger.URL, "http://")) {
		t.Fatalf("err = %v, want a refusal naming %s", err, stranger.URL)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the unknown origin got %d requests (Authorization %q)", n, got.Load())
	}
	c, err := New(a.URL, testToken, WithTrustedOrigins(stranger.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(context.Background(), "i-1"); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "Bearer "+testToken {
		t.Fatalf("a trusted origin got Authorization %q", got.Load())
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://Node-A:7474/x/": "http://node-a:7474",
		"http://node-a":         "http://node-a:80",
		"https://node-a/":       "https://node-a:443",
		"https://[::1]:9/":      "https://[::1]:9",
	} {
		u, err := parseURL(in)
		if err != nil || origin(u) != want {
			t.Errorf("origin(%q) = %q, %v; want %q", in, origin(u), err, want)
		}
	}
}
