package node

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAPI sends arbitrary bodies to the endpoints that decode them: the
// node answers every one with a JSON error or success, never panics, and
// keeps serving.
func FuzzAPI(f *testing.F) {
	// Its own URL is its only peer, so that begin bodies naming it as the
	// source get past the membership check.
	n, err := New(Config{Dir: f.TempDir(), Name: "fuzz", Token: testToken, PeerToken: testPeerToken,
		Peers: []string{"http://127.0.0.1:1"}, Log: log.New(io.Discard, "", 0)})
	if err != nil {
		f.Fatal(err)
	}
	h := n.Handler()
	paths := []string{"/v1/instances", "/v1/modules", "/v1/instances/restore", "/v1/migrations",
		"/v1/migrations/m-x/memory", "/v1/migrations/m-x/prepare", "/v1/migrations/..%2f..%2fx/abort"}
	f.Add(uint8(6), []byte(nil))
	f.Add(uint8(0), []byte(`{"module":"00","args":["a"]}`))
	f.Add(uint8(1), []byte("\x00asm\x01\x00\x00\x00"))
	f.Add(uint8(2), []byte("ROAMSNAP\x01\x00\x00\x00"))
	f.Add(uint8(3), []byte(`{"migration":"m","source":"http://127.0.0.1:1","instance":{"id":"i","epoch":1,"module":"zz"}}`))
	// Ids that would leave DIR (issue 7): refused before any file use.
	f.Add(uint8(3), []byte(`{"migration":"m-1","source":"http://127.0.0.1:1","instance":{"id":"../../x","epoch":1,"module":"zz"}}`))
	f.Add(uint8(3), []byte(`{"migration":"../../x","source":"http://127.0.0.1:1","instance":{"id":"i-1","epoch":1,"module":"zz"}}`))
	f.Add(uint8(3), []byte(`{"migration":"m-1","source":"http://127.0.0.1:1","instance":{"id":"i-1/../../x","epoch":1,"module":"zz"}}`))
	f.Add(uint8(3), []byte(`{"migration":"m-1","source":"http://127.0.0.1:1","instance":{"id":"i-\u002e\u002e","epoch":1,"module":"zz"}}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := paths[int(which)%len(paths)]
		method := http.MethodPost
		if path == "/v1/migrations/m-x/memory" {
			method = http.MethodPut
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		token := testToken
		if strings.HasPrefix(path, "/v1/migrations") {
			token = testPeerToken
		}
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	})
}
