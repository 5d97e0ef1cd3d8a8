package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken     = "test-token"
	testPeerToken = "test-peer-token"
)

// testPools holds a peers file per top-level test: every node a test
// starts joins it, so that the test's nodes are one pool.
var testPools sync.Map

// joinTestPool adds url to the pool of t's top-level test and returns the
// pool's peers file.
func joinTestPool(t testing.TB, url string) string {
	t.Helper()
	root, _, _ := strings.Cut(t.Name(), "/")
	file := filepath.Join(os.TempDir(), fmt.Sprintf("roam-node-test-%d-%s.peers", os.Getpid(), root))
	if _, loaded := testPools.LoadOrStore(root, file); !loaded {
		os.Remove(file)
		t.Cleanup(func() { os.Remove(file); testPools.Delete(root) })
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, url); err != nil {
		t.Fatal(err)
	}
	return file
}

// testNode is a node agent serving on a loopback port, as in production.
type testNode struct {
	*Node
	url  string
	stop func()
}

func startNode(t *testing.T, name, dir string) *testNode {
	t.Helper()
	return startNodeWith(t, name, dir, nil)
}

// startNodeWith starts a node whose configuration tune changes first.
func startNodeWith(t *testing.T, name, dir string, tune func(*Config)) *testNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: dir, Name: name, Token: testToken, PeerToken: testPeerToken, Listen: ln.Addr().String(),
		PeersFile: joinTestPool(t, "http://"+ln.Addr().String()), Log: log.New(io.Discard, "", 0)}
	if tune != nil {
		tune(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, ln) }()
	tn := &testNode{Node: n, url: n.URL()}
	stopped := false
	tn.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("node %s: %v", name, err)
			}
		}
	}
	t.Cleanup(tn.stop)
	return tn
}

// do calls the API with the token (the peer token on the node-to-node
// endpoints); out, when set, receives the JSON reply.
func do(t *testing.T, method, url string, body io.Reader, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	token := testToken
	if strings.Contains(url, "/v1/migrations") {
		token = testPeerToken
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %q", method, url, err, b)
		}
	}
	return resp.StatusCode
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wasm", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (tn *testNode) startProgram(t *testing.T, name string, args ...string) Instance {
	t.Helper()
	var up struct{ Digest string }
	if code := do(t, "POST", tn.url+"/v1/modules", bytes.NewReader(fixture(t, name)), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	req, _ := json.Marshal(StartRequest{Module: up.Digest, Args: append([]string{name + ".wasm"}, args...)})
	var in Instance
	if code := do(t, "POST", tn.url+"/v1/instances", bytes.NewReader(req), &in); code != 201 {
		t.Fatalf("start: %d %+v", code, in)
	}
	return in
}

// wait follows redirects (the default client does, and keeps the token on
// the same host) until the instance ends.
func wait(t *testing.T, url, id string) Instance {
	t.Helper()
	var in Instance
	if code := do(t, "GET", url+"/v1/instances/"+id+"/wait", nil, &in); code != 200 {
		t.Fatalf("wait: %d %+v", code, in)
	}
	return in
}

func logs(t *testing.T, url, id, stream string) string {
	t.Helper()
	return string(fetch(t, url+"/v1/instances/"+id+"/"+stream))
}

func migrate(t *testing.T, from, id, to string) (MigrateResult, error) {
	t.Helper()
	req, _ := http.NewRequest("POST", from+"/v1/instances/"+id+"/migrate", strings.NewReader(fmt.Sprintf(`{"to":%q}`, to)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var last MigrateEvent
	for sc.Scan() {
		last = MigrateEvent{}
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("migrate stream: %v in %q", err, sc.Text())
		}
	}
	switch {
	case last.Event == "done":
		return *last.Result, nil
	case last.Event == "error":
		return MigrateResult{}, last.Error
	}
	return MigrateResult{}, fmt.Errorf("migrate answered %s with no result", resp.Status)
}

func reference(t *testing.T, tn *testNode, name string, args ...string) (string, int) {
	t.Helper()
	in := tn.startProgram(t, name, args...)
	end := wait(t, tn.url, in.ID)
	return logs(t, tn.url, in.ID, "stdout"), end.ExitCode
}

// TestMigrateRoundTrip moves running programs A → B → A mid-run and expects
// the output and exit code of an uninterrupted run.
func TestMigrateRoundTrip(t *testing.T) {
	a, b := startNode(t, "a", t.TempDir()), startNode(t, "b", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"c-sleep", []string{"25"}},
		{"c-exit", []string{"20"}},
		{"go-goroutines", []string{"10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantCode := reference(t, a, tc.name, tc.args...)
			in := a.startProgram(t, tc.name, tc.args...)
			time.Sleep(40 * time.Millisecond)
			path := []*testNode{b, a, b}
			from := a
			for _, to := range path {
				res, err := migrate(t, from.url, in.ID, to.url)
				if err != nil {
					if strings.Contains(err.Error(), "ended") || strings.Contains(err.Error(), "exited") {
						t.Logf("stopped moving: %v", err)
						break // the program finished first: nothing left to move
					}
					t.Fatalf("migrate %s → %s: %v", from.Name(), to.Name(), err)
				}
				t.Logf("%s → %s: downtime %.2f ms, total %.2f ms, %d B, %d rounds", from.Name(), to.Name(), res.DowntimeMS, res.TotalMS, res.Bytes, res.Rounds)
				from = to
				time.Sleep(30 * time.Millisecond)
			}
			end := wait(t, a.url, in.ID) // a redirects to wherever it is now
			if end.ExitCode != wantCode {
				t.Errorf("exit code %d, want %d (%s)", end.ExitCode, wantCode, end.Error)
			}
			if got := logs(t, a.url, in.ID, "stdout"); got != want {
				t.Errorf("stdout differs from the uninterrupted run:\n got %q\nwant %q", got, want)
			}
		})
	}
}
