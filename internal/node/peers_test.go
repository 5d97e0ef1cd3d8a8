package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// recorder is a stand-in for a node outside the pool: it records every
// request it gets.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // method, path and Authorization of each request
}

func newRecorder(t *testing.T) *recorder {
	rc := &recorder{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.seen = append(rc.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		rc.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *recorder) requests() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.seen...)
}

// TestMigrateToNonMemberRefused: migrate --to a URL outside the pool is
// refused before anything is sent; the instance runs on.
func TestMigrateToNonMemberRefused(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	fake := newRecorder(t)
	in := a.startProgram(t, "c-sleep", "20")
	for _, to := range []string{fake.URL, fake.URL + "/", strings.Replace(fake.URL, "127.0.0.1", "localhost", 1)} {
		status, body := rawCall(t, "POST", a.url+"/v1/instances/"+in.ID+"/migrate", testToken, `{"to":"`+to+`"}`)
		if status != http.StatusForbidden || !strings.Contains(body, `"not_a_peer"`) || !strings.Contains(body, "--peers") ||
			!strings.Contains(body, strings.TrimSuffix(strings.TrimPrefix(to, "http://"), "/")) {
			t.Errorf("migrate --to %s: %d %s, want 403 not_a_peer naming it and --peers", to, status, body)
		}
	}
	if got := fake.requests(); len(got) != 0 {
		t.Fatalf("the non-member received %q", got)
	}
	if end := wait(t, a.url, in.ID); end.Status != statusExited || end.ExitCode != 0 || end.Migrations != 0 {
		t.Errorf("after the refused moves: %+v", end)
	}
}

// TestBeginFromNonMemberRefused: a begin naming a source outside the pool
// is refused, and the source is never called (no module fetch with the
// peer token).
func TestBeginFromNonMemberRefused(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	fake := newRecorder(t)
	body, _ := json.Marshal(beginRequest{Migration: "m-1", Source: fake.URL,
		Record: record{Instance: Instance{ID: "i-1", Epoch: 2, Module: strings.Repeat("ab", 32), Name: "x", Args: []string{"x"}, Migratable: true}}})
	status, resp := rawCall(t, "POST", a.url+"/v1/migrations", testPeerToken, string(body))
	if status != http.StatusForbidden || !strings.Contains(resp, `"not_a_peer"`) {
		t.Errorf("begin from %s: %d %s, want 403 not_a_peer", fake.URL, status, resp)
	}
	if got := fake.requests(); len(got) != 0 {
		t.Fatalf("the non-member source received %q", got)
	}
}

// TestTokensSeparate: the client token opens the client API only, the
// peer token the node-to-node protocol only (and module reads, which a
// destination makes from its source).
func TestTokensSeparate(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	var up struct{ Digest string }
	if code := do(t, "POST", a.url+"/v1/modules", bytes.NewReader(fixture(t, "c-sleep")), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"POST", "/v1/migrations", testToken, 401},
		{"GET", "/v1/migrations/m-1", testToken, 401},
		{"PUT", "/v1/migrations/m-1/memory", testToken, 401},
		{"POST", "/v1/migrations/m-1/commit", testToken, 401},
		{"POST", "/v1/migrations/m-1/abort", testToken, 401},
		{"GET", "/v1/migrations/m-1", testPeerToken, 200},
		{"GET", "/v1/instances", testPeerToken, 401},
		{"GET", "/v1/node", testPeerToken, 401},
		{"POST", "/v1/modules", testPeerToken, 401},
		{"POST", "/v1/instances/i-1/migrate", testPeerToken, 401},
		{"GET", "/v1/instances", testToken, 200},
		{"GET", "/v1/modules/" + up.Digest, testPeerToken, 200},
		{"GET", "/v1/modules/" + up.Digest, testToken, 200},
		{"GET", "/v1/modules/" + up.Digest, "wrong", 401},
	} {
		if status, body := rawCall(t, tc.method, a.url+tc.path, tc.token, ""); status != tc.want {
			t.Errorf("%s %s with the %s token: %d %s, want %d", tc.method, tc.path, tc.token, status, body, tc.want)
		}
	}
}

// TestRedirectOnlyToMembers: an instance that moved to a node the pool has
// since dropped is not redirected there; while it is a member, it is.
func TestRedirectOnlyToMembers(t *testing.T) {
	a, b := startNode(t, "a", t.TempDir()), startNode(t, "b", t.TempDir())
	in := a.startProgram(t, "c-sleep", "50")
	if _, err := migrate(t, a.url, in.ID, b.url); err != nil {
		t.Fatal(err)
	}
	if status, body := rawCall(t, "GET", a.url+"/v1/instances/"+in.ID, testToken, ""); status != http.StatusTemporaryRedirect {
		t.Fatalf("a member: %d %s, want a redirect", status, body)
	}
	v, _ := testPools.Load(strings.Split(t.Name(), "/")[0])
	if err := os.WriteFile(v.(string), []byte(a.url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, body := rawCall(t, "GET", a.url+"/v1/instances/"+in.ID, testToken, ""); status != http.StatusForbidden || !strings.Contains(body, `"not_a_peer"`) {
		t.Fatalf("after b left the pool: %d %s, want 403 not_a_peer", status, body)
	}
}
