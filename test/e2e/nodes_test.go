package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestNodeMigrateSmoke: a program started on one node, moved to another and
// back mid-run, ends with the stdout and exit code of `roam run`.
func TestNodeMigrateSmoke(t *testing.T) {
	a, b := startNode(t, "a", nodeOpts{}), startNode(t, "b", nodeOpts{})
	module := wasmPath("c-sleep")
	want := roam(t, "run", module, "25")
	id := mustCLI(t, a.url, "start", module, "25")
	time.Sleep(100 * time.Millisecond)
	line := mustCLI(t, a.url, "migrate", id, "--to", b.url)
	if !strings.HasPrefix(line, "migrated "+id+" to "+b.url+": downtime=") {
		t.Errorf("migrate summary: %q", line)
	}
	mustCLI(t, b.url, "migrate", id, "--to", a.url)
	w := cli(t, b.url, "wait", id) // b redirects to a
	if w.code != want.code {
		t.Errorf("wait: exit %d, want %d\n%v", w.code, want.code, w)
	}
	if got := cli(t, b.url, "logs", id); string(got.stdout) != string(want.stdout) {
		t.Errorf("logs differ from roam run:\n got %q\nwant %q", got.stdout, want.stdout)
	}
}
