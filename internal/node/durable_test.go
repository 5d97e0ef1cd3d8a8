package node

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
)

// TestStepEpoch: prepare and commit carry the migration's epoch, refused
// when it is not the migration's or no longer above what the node has
// recorded for the instance (a tombstone of the instance at a later epoch).
func TestStepEpoch(t *testing.T) {
	n, err := New(Config{Dir: t.TempDir(), Name: "b", Token: testToken, Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	inc := &incoming{id: "m-1", in: &instance{rec: record{Instance: Instance{ID: "i-1", Epoch: 3}}}}
	for _, c := range []struct {
		header    string
		tombstone uint64 // epoch of a moved record of i-1 here; 0: none
		code      string
	}{
		{"", 0, ""}, {"3", 0, ""}, {"3", 2, ""},
		{"2", 0, codeStaleEpoch}, {"4", 0, codeStaleEpoch}, {"3", 3, codeStaleEpoch}, {"3", 5, codeStaleEpoch},
		{"x", 0, codeBadRequest},
	} {
		delete(n.instances, "i-1")
		if c.tombstone > 0 {
			n.instances["i-1"] = &instance{rec: record{Instance: Instance{ID: "i-1", Epoch: c.tombstone, Status: statusMoved}}}
		}
		err := n.checkStepEpoch(inc, c.header)
		var ae *APIError
		switch {
		case c.code == "" && err != nil:
			t.Errorf("epoch %q, recorded %d: %v, want accepted", c.header, c.tombstone, err)
		case c.code != "" && (!errors.As(err, &ae) || ae.Code != c.code):
			t.Errorf("epoch %q, recorded %d: %v, want %s", c.header, c.tombstone, err, c.code)
		}
	}
}

// TestMemoryLimitRequest: a start's memory limit defaults to the node's
// maximum and may not exceed it.
func TestMemoryLimitRequest(t *testing.T) {
	n := &Node{cfg: Config{Name: "a", MaxMemory: 16 << 20}}
	for _, c := range []struct {
		asked, want uint64
		code        string
	}{
		{0, 16 << 20, ""}, {1 << 20, 1 << 20, ""}, {16 << 20, 16 << 20, ""},
		{16<<20 + 1, 0, codeTooLarge}, {100, 0, codeBadRequest},
	} {
		got, err := n.memoryLimit(c.asked)
		var ae *APIError
		switch {
		case c.code == "" && (err != nil || got != c.want):
			t.Errorf("memoryLimit(%d) = %d, %v; want %d", c.asked, got, err, c.want)
		case c.code != "" && (!errors.As(err, &ae) || ae.Code != c.code):
			t.Errorf("memoryLimit(%d): %v, want %s", c.asked, err, c.code)
		}
	}
}

// TestCheckpointEvery: the start request's period wins over the node's;
// "0" turns checkpoints off; a bad one is refused at start.
func TestCheckpointEvery(t *testing.T) {
	n := &Node{cfg: Config{CheckpointEvery: 30 * time.Second}}
	for _, c := range []struct {
		asked string
		want  time.Duration
	}{{"", 30 * time.Second}, {"0", 0}, {"2s", 2 * time.Second}} {
		in := &instance{n: n, rec: record{CheckpointEvery: c.asked}}
		if got := in.checkpointEvery(); got != c.want {
			t.Errorf("checkpoint_every %q: %v, want %v", c.asked, got, c.want)
		}
	}
	for _, bad := range []string{"soon", "-1s"} {
		if _, err := parseEvery(bad); err == nil {
			t.Errorf("parseEvery(%q) accepted", bad)
		}
	}
}

// TestDurabilityRequestErrors: bad periods and resolves get a JSON error
// with a stable code, and the node stays up.
func TestDurabilityRequestErrors(t *testing.T) {
	tn := startNode(t, "a", t.TempDir())
	var up struct{ Digest string }
	if code := do(t, "POST", tn.url+"/v1/modules", bytes.NewReader(fixture(t, "c-sleep")), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	for _, c := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/v1/instances", `{"module":"` + up.Digest + `","args":["s"],"checkpoint_every":"often"}`, 400, codeBadRequest},
		{"/v1/instances", `{"module":"` + up.Digest + `","args":["s"],"memory_limit":8589934592}`, 413, codeTooLarge},
		{"/v1/instances/i-none/resolve", `{"outcome":"commit"}`, 404, codeNotFound},
		{"/v1/instances/i-none/resolve", `{"outcome":"maybe"}`, 400, codeBadRequest},
	} {
		var out struct{ Error *APIError }
		if status := do(t, "POST", tn.url+c.path, strings.NewReader(c.body), &out); status != c.status || out.Error == nil || out.Error.Code != c.code {
			t.Errorf("POST %s %s: %d %+v, want %d %s", c.path, c.body, status, out.Error, c.status, c.code)
		}
	}
	var h struct{ Status string }
	if do(t, "GET", tn.url+"/healthz", nil, &h); h.Status != "ok" {
		t.Errorf("healthz: %+v", h)
	}
}

// TestResolveAsksTheSource: an operator's resolve of an in-doubt migration
// is refused while the source answers; a source that knows the outcome
// has it applied, one that says pending leaves the migration waiting.
func TestResolveAsksTheSource(t *testing.T) {
	for _, c := range []struct {
		source, want string // the source's outcome; what the migration becomes
		inDoubt      bool
	}{
		{"aborted", "dropped", true},
		{"pending", "kept", true},
		{"aborted", "kept", false}, // not in doubt yet: the source is not even asked
	} {
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"outcome": c.source})
		}))
		n, err := New(Config{Dir: t.TempDir(), Name: "b", Token: testToken, PeerToken: testPeerToken, Peers: []string{src.URL},
			Log: log.New(io.Discard, "", 0)})
		if err != nil {
			t.Fatal(err)
		}
		in, err := n.newInstance(record{Instance: Instance{ID: "i-1", Epoch: 2}}, true)
		if err != nil {
			t.Fatal(err)
		}
		n.incoming["m-1"] = &incoming{id: "m-1", source: src.URL, in: in, prepared: true, inDoubt: c.inDoubt}
		_, err = n.resolve("i-1", true)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != codeConflict {
			t.Errorf("source says %s (in doubt %v): resolve --commit: %v, want a conflict", c.source, c.inDoubt, err)
		}
		_, kept := n.incoming["m-1"]
		if kept != (c.want == "kept") {
			t.Errorf("source says %s (in doubt %v): migration kept %v, want %s", c.source, c.inDoubt, kept, c.want)
		}
		if _, held := n.instance("i-1"); held {
			t.Errorf("source says %s: the node holds the instance after a refused resolve", c.source)
		}
		src.Close()
	}
}

// TestCheckpointShowsRunning: a checkpoint pauses the guest for a moment;
// nobody asked for that pause, so the API goes on showing it running.
// Found by the e2e fault test that reads the status of an instance just
// after it arrived, while its first checkpoint here ran.
func TestCheckpointShowsRunning(t *testing.T) {
	tn := startNode(t, "a", t.TempDir())
	id := tn.startProgram(t, "c-fib", "1000").ID
	in, ok := tn.instance(id)
	if !ok {
		t.Fatal("the started instance is not listed")
	}
	done := make(chan error, 1)
	go func() {
		for range 100 {
			if err := in.checkpointNow(true); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	seen := map[client.Status]int{}
	for polling := true; polling; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("checkpoint: %v", err)
			}
			polling = false
		default:
			var v Instance
			if code := do(t, "GET", tn.url+"/v1/instances/"+id, nil, &v); code != http.StatusOK {
				t.Fatalf("get: %d", code)
			}
			seen[v.Status]++
		}
	}
	if len(seen) != 1 || seen[statusRunning] == 0 {
		t.Errorf("statuses seen during checkpoints: %v, want only running", seen)
	}
	if in.snapshotRecord().Checkpoint == nil {
		t.Error("no checkpoint was written")
	}
}
