package e2e

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNodeMigrateSmoke: a program started on one node, moved to another and
// back mid-run, ends with the stdout and exit code of `roam run`.
func TestNodeMigrateSmoke(t *testing.T) {
	a, b := startNode(t, "a", nodeOpts{}), startNode(t, "b", nodeOpts{})
	module := wasmPath("c-sleep")
	// 150 ticks (3 s): the program outlives both moves even on a loaded
	// machine, where the first one waits for the destination's compile.
	want := roam(t, "run", module, "150")
	id := mustCLI(t, a.url, "start", module, "150")
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

// TestDemo runs the README's main job on native nodes: the workload's
// output, streamed from wherever it ran, is that of an uninterrupted run,
// and every hop reports its downtime.
func TestDemo(t *testing.T) {
	want := roam(t, "run", wasmPath("c-demo"), "30")
	r := roam(t, "demo", "--ticks", "30", "--every", "400ms", "--arm64=false")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	if string(r.stdout) != string(want.stdout) {
		t.Errorf("demo stdout differs from roam run:\n got %q\nwant %q", r.stdout, want.stdout)
	}
	hops := hopLineRE.FindAll(r.stderr, -1)
	if len(hops) == 0 {
		t.Errorf("no hop line on stderr:\n%s", r.stderr)
	}
	t.Logf("%d hops:\n%s", len(hops), bytes.Join(hops, nil))
}

var hopLineRE = regexp.MustCompile(`(?m)^roam demo: hop \d+: .* downtime [0-9.]+ ms.*\n`)
