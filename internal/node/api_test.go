package node

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokenRequired(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	for _, auth := range []string{"", "Bearer wrong", testToken} {
		req, _ := http.NewRequest("GET", a.url+"/v1/instances", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error *APIError }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body.Error == nil || body.Error.Code != codeUnauthorized {
			t.Errorf("Authorization %q: %d %+v, want 401 unauthorized", auth, resp.StatusCode, body.Error)
		}
	}
	resp, err := http.Get(a.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz without a token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestBadRequestsKeepTheNodeUp(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	for _, tc := range []struct {
		method, path, body, code string
	}{
		{"POST", "/v1/instances", "{", codeBadRequest},
		{"POST", "/v1/instances", `{"module":"zz","args":["x"]}`, codeBadRequest},
		{"POST", "/v1/instances", `{"module":"` + strings.Repeat("ab", 32) + `","args":["x"]}`, codeModuleNotFound},
		{"POST", "/v1/instances", `{"unknown":1}`, codeBadRequest},
		{"POST", "/v1/instances", strings.Repeat(" ", 2<<20), codeTooLarge},
		{"POST", "/v1/modules", "not wasm", codeInvalidModule},
		{"POST", "/v1/instances/restore", "ROAMSNAP garbage", codeInvalidSnapshot},
		{"GET", "/v1/instances/i-none", "", codeNotFound},
		{"POST", "/v1/instances/i-none/migrate", `{"to":"http://x"}`, codeNotFound},
		{"POST", "/v1/migrations/m-none/commit", "", codeGone},
		{"PUT", "/v1/migrations/m-none/memory", "", codeNotFound},
		{"GET", "/v1/nope", "", codeNotFound},
	} {
		var body struct{ Error *APIError }
		status := do(t, tc.method, a.url+tc.path, strings.NewReader(tc.body), &body)
		if body.Error == nil || body.Error.Code != tc.code {
			t.Errorf("%s %s: %d %+v, want code %s", tc.method, tc.path, status, body.Error, tc.code)
		}
	}
	if resp, err := http.Get(a.url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("node down after bad requests: %v", err)
	}
}

// TestPauseCheckpointRestore pauses an instance, takes a checkpoint,
// resumes it, and restores the checkpoint on another node: the original
// ends as an uninterrupted run, and the copy prints the rest of it.
func TestPauseCheckpointRestore(t *testing.T) {
	a, b := startNode(t, "a", t.TempDir()), startNode(t, "b", t.TempDir())
	want, _ := reference(t, a, "c-sleep", "30")
	in := a.startProgram(t, "c-sleep", "30")
	time.Sleep(150 * time.Millisecond)
	var v Instance
	if code := do(t, "POST", a.url+"/v1/instances/"+in.ID+"/pause", nil, &v); code != 200 || v.Status != statusPaused {
		t.Fatalf("pause: %d %+v", code, v)
	}
	prefix := logs(t, a.url, in.ID, "stdout")
	snap := fetch(t, a.url+"/v1/instances/"+in.ID+"/snapshot")
	if code := do(t, "POST", a.url+"/v1/instances/"+in.ID+"/resume", nil, &v); code != 200 || v.Status != statusRunning {
		t.Fatalf("resume: %d %+v", code, v)
	}
	do(t, "POST", b.url+"/v1/modules", bytes.NewReader(fixture(t, "c-sleep")), nil)
	var copy Instance
	if code := do(t, "POST", b.url+"/v1/instances/restore", bytes.NewReader(snap), &copy); code != 201 {
		t.Fatalf("restore: %d", code)
	}
	if wait(t, a.url, in.ID).ExitCode != 0 || wait(t, b.url, copy.ID).ExitCode != 0 {
		t.Fatal("a run failed")
	}
	if got := logs(t, a.url, in.ID, "stdout"); got != want {
		t.Errorf("paused and resumed run:\n got %q\nwant %q", got, want)
	}
	if got := prefix + logs(t, b.url, copy.ID, "stdout"); got != want {
		t.Errorf("checkpoint restored elsewhere, with the output before it:\n got %q\nwant %q", got, want)
	}
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

func TestStopNonMigratable(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	var up struct{ Digest string }
	do(t, "POST", a.url+"/v1/modules", bytes.NewReader(fixture(t, "c-demo")), &up)
	no := false
	req, _ := json.Marshal(StartRequest{Module: up.Digest, Args: []string{"demo", "1000"}, Migratable: &no})
	var in Instance
	if code := do(t, "POST", a.url+"/v1/instances", bytes.NewReader(req), &in); code != 201 {
		t.Fatalf("start: %d", code)
	}
	time.Sleep(100 * time.Millisecond)
	var refused struct{ Error *APIError }
	if code := do(t, "POST", a.url+"/v1/instances/"+in.ID+"/pause", nil, &refused); code != http.StatusConflict {
		t.Errorf("pause of a non-migratable instance: %d, want 409", code)
	}
	var v Instance
	if code := do(t, "POST", a.url+"/v1/instances/"+in.ID+"/stop", nil, &v); code != 200 || v.Status != statusStopped || v.ExitCode != exitStopped {
		t.Errorf("stop: %d %+v", code, v)
	}
}

// TestEpochFencing: a node refuses to take an instance it holds, or an
// epoch it has already seen for an instance that left it.
func TestEpochFencing(t *testing.T) {
	a, b := startNode(t, "a", t.TempDir()), startNode(t, "b", t.TempDir())
	in := a.startProgram(t, "c-sleep", "400") // 8 s: outlives the move under the race detector
	time.Sleep(50 * time.Millisecond)
	if _, err := migrate(t, a.url, in.ID, b.url); err != nil {
		t.Fatal(err)
	}
	rec := a.instances[in.ID].snapshotRecord()
	for _, tc := range []struct {
		node  *testNode
		epoch uint64
		code  string
	}{
		{a, rec.Epoch, codeStaleEpoch}, // a saw this epoch when the instance left
		{a, 1, codeStaleEpoch},
		{b, rec.Epoch + 1, codeConflict}, // b holds it
	} {
		r := rec
		r.Epoch = tc.epoch
		body, _ := json.Marshal(beginRequest{Migration: "m-test", Source: a.url, Record: r})
		var out struct{ Error *APIError }
		do(t, "POST", tc.node.url+"/v1/migrations", bytes.NewReader(body), &out)
		if out.Error == nil || out.Error.Code != tc.code {
			t.Errorf("begin on %s at epoch %d: %+v, want %s", tc.node.Name(), tc.epoch, out.Error, tc.code)
		}
	}
	wait(t, a.url, in.ID)
}

// TestRestartKeepsInstances stops a node while an instance runs and starts
// it again on the same directory: the instance goes on where it was.
func TestRestartKeepsInstances(t *testing.T) {
	dir := t.TempDir()
	a := startNode(t, "a", dir)
	want, _ := reference(t, a, "c-sleep", "30")
	in := a.startProgram(t, "c-sleep", "30")
	time.Sleep(200 * time.Millisecond)
	a.stop()
	a = startNode(t, "a", dir)
	end := wait(t, a.url, in.ID)
	if end.Status != statusExited || end.ExitCode != 0 {
		t.Fatalf("after restart: %+v", end)
	}
	if got := logs(t, a.url, in.ID, "stdout"); got != want {
		t.Errorf("stdout across the restart:\n got %q\nwant %q", got, want)
	}
}
