package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeServesWhileGuestsSpin: two migratable guests in the tightest
// loop there is, on the compiler, while the node's garbage collector runs
// all the time (GOGC=1) and is forced at once by a module upload (the node
// frees memory to the OS after one). Compiled guest code cannot be
// preempted by Go, so without a safe point of its own it stalls every
// stop-the-world and with it the whole node: health, API, other
// instances, SIGTERM. Deadlines here only guard against that hang. With
// GOMAXPROCS=1 the guests hold the only P between their polls.
func TestNodeServesWhileGuestsSpin(t *testing.T) {
	for _, procs := range []string{"2", "1"} {
		t.Run("GOMAXPROCS="+procs, func(t *testing.T) { serveWhileGuestsSpin(t, procs) })
	}
}

func serveWhileGuestsSpin(t *testing.T, procs string) {
	n := startNode(t, "spin", nodeOpts{env: []string{"GOGC=1", "GOMAXPROCS=" + procs}})
	spin := filepath.Join(repoRoot, "testdata", "wat", "spin.wasm")
	ids := []string{mustCLI(t, n.url, "start", spin), mustCLI(t, n.url, "start", spin)}
	for _, id := range ids {
		if !pollUntil(t, 30*time.Second, func() bool { return strings.Contains(string(cli(t, n.url, "logs", id).stdout), "spinning") }) {
			t.Fatalf("%s printed nothing within 30 s:\n%s", id, n.log())
		}
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	for i := range 50 {
		resp, err := hc.Get(n.url + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz #%d while guests spin: %v\nnode log:\n%s", i, err, n.log())
		}
		resp.Body.Close()
	}
	// An upload and a start force a collection; another program still runs
	// to its end next to the spinning ones.
	want := roam(t, "run", wasmPath("c-sleep"), "3")
	id := mustCLI(t, n.url, "start", wasmPath("c-sleep"), "3")
	if w := cli(t, n.url, "wait", id); w.code != want.code {
		t.Errorf("c-sleep next to spinning guests: %v", w)
	}
	mustCLI(t, n.url, "pause", ids[0])
	mustCLI(t, n.url, "resume", ids[0])
	mustCLI(t, n.url, "stop", ids[1])
	if w := cli(t, n.url, "wait", ids[1]); w.code != 143 {
		t.Errorf("wait after stop: %v, want exit 143", w)
	}
	n.sigterm()
	if !n.exited(60 * time.Second) {
		t.Fatalf("node did not exit within 60 s of SIGTERM with a spinning guest:\n%s", n.log())
	}
	if code := n.exitCode(); code != 0 {
		t.Errorf("node exit code after SIGTERM: %d\n%s", code, n.log())
	}
}
