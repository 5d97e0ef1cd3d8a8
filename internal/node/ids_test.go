package node

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIDsCannotLeaveDIR sends ids that would name paths outside the data
// directory, in begin bodies and in paths, each followed by the abort that
// used to delete what the id named: every one is refused with a 4xx and a
// sentinel directory next to DIR is still there.
func TestIDsCannotLeaveDIR(t *testing.T) {
	root := t.TempDir()
	sentinel := filepath.Join(root, "x")
	if err := os.MkdirAll(sentinel, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sentinel, "keep"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, "a", filepath.Join(root, "node"))
	// The module is here, so that nothing but the id stops a begin.
	var up struct{ Digest string }
	if code := do(t, "POST", a.url+"/v1/modules", bytes.NewReader(fixture(t, "c-sleep")), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	long := "i-" + strings.Repeat("a", 100)
	begin := func(mid, id string) string {
		b, _ := json.Marshal(map[string]any{"migration": mid, "source": a.url,
			"instance": map[string]any{"id": id, "epoch": 1, "module": up.Digest, "name": "c-sleep.wasm", "args": []string{"c-sleep.wasm"}}})
		return string(b)
	}
	for _, tc := range []struct {
		method, path, body, token string
	}{
		{"POST", "/v1/migrations", begin("m-1", "../../x"), testPeerToken},
		{"POST", "/v1/migrations/m-1/abort", "", testPeerToken},
		{"POST", "/v1/migrations", begin("../../x", "i-1"), testPeerToken},
		{"POST", "/v1/migrations", begin("m-2", "i-1/../../../x"), testPeerToken},
		{"POST", "/v1/migrations", begin("m-3", long), testPeerToken},
		{"POST", "/v1/migrations/../../x/abort", "", testPeerToken},
		{"POST", "/v1/migrations/%2e%2e%2f%2e%2e%2fx/abort", "", testPeerToken},
		{"POST", "/v1/migrations/..%2f..%2fx/abort", "", testPeerToken},
		{"POST", "/v1/migrations/m-..%2f..%2fx/abort", "", testPeerToken},
		{"GET", "/v1/migrations/..%2fx", "", testPeerToken},
		{"GET", "/v1/instances/..%2f..%2fx", "", testToken},
		{"POST", "/v1/instances/%2e%2e/stop", "", testToken},
		{"GET", "/v1/instances/i-a%2fb/wait", "", testToken},
		{"GET", "/v1/instances/I-ABC", "", testToken},
		{"GET", "/v1/instances/" + long, "", testToken},
		{"GET", "/v1/instances//stdout", "", testToken},
	} {
		status, body := rawCall(t, tc.method, a.url+tc.path, tc.token, tc.body)
		if status < 400 || status >= 500 {
			t.Errorf("%s %s: %d %s, want a 4xx", tc.method, tc.path, status, body)
		}
		if strings.Contains(tc.body, "../") || strings.Contains(tc.body, long) || strings.Contains(tc.path, long) {
			if !strings.Contains(body, `"invalid_id"`) {
				t.Errorf("%s %s: %s, want code invalid_id", tc.method, tc.path, body)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(sentinel, "keep")); err != nil || string(b) != "keep" {
		t.Fatalf("the sentinel outside DIR was touched: %q %v", b, err)
	}
	if resp, err := http.Get(a.url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("node down after the bad ids: %v", err)
	}
}

// rawCall sends one request exactly as given (no path cleaning, no
// redirect followed) and returns the status and body.
func rawCall(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
