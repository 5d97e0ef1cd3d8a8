package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// durableCase is a program that runs on a node killed with SIGKILL.
type durableCase struct {
	name  string
	args  []string
	start []string // flags of roam start
	ref   result
	id    string
}

// TestNodeSurvivesSIGKILL kills a node (kill -9) while it runs instances
// that have durable checkpoints, one that has none yet, one paused by the
// API and one that cannot be checkpointed; restarted on the same data
// directory, the node resumes each from its latest checkpoint: the running
// ones run on to the output of roam run, the paused one stays paused until
// resumed, and the non-migratable one is reported lost.
func TestNodeSurvivesSIGKILL(t *testing.T) {
	cases := []*durableCase{
		{name: "c-sleep", args: []string{"150"}},                                             // about 3 s of sleeps
		{name: "c-demo", args: []string{"60"}},                                               // about 4 s, a 4 MiB sieve
		{name: "c-sleep", args: []string{"120"}, start: []string{"--checkpoint-every", "0"}}, // from its start again
	}
	paused := &durableCase{name: "c-sleep", args: []string{"100"}}
	for _, c := range append(cases, paused) {
		c.ref = roam(t, append([]string{"run", wasmPath(c.name)}, c.args...)...)
		if c.ref.code != 0 || len(c.ref.stdout) == 0 {
			t.Fatalf("reference run: %v", c.ref)
		}
	}
	n := startNode(t, "a", nodeOpts{args: []string{"--checkpoint-every", "300ms"}})
	logsOnFailure(t, n)
	for _, c := range append(cases, paused) {
		c.id = startProg(t, n, c)
	}
	mustCLI(t, n.url, "pause", paused.id)
	plain := mustCLI(t, n.url, "start", "--migratable=false", wasmPath("c-sleep"), "500")

	// Two checkpoints of each checkpointed instance, so that the kill
	// falls after some progress past the first.
	for _, c := range cases[:2] {
		first := checkpointedAt(t, n, c.id, time.Time{})
		checkpointedAt(t, n, c.id, first)
	}
	if at := locate(t, n, cases[2].id); at.code != http.StatusOK || at.Status != "running" {
		t.Fatalf("instance without checkpoints: %s", at)
	}
	n.kill()
	n.start(t)

	if s, _ := psStatus(t, n, paused.id); s != "paused" {
		t.Errorf("the paused instance is %q after the restart, want paused", s)
	}
	time.Sleep(300 * time.Millisecond) // it must not run by itself
	if s, _ := psStatus(t, n, paused.id); s != "paused" {
		t.Errorf("the paused instance is %q 300 ms after the restart, want paused", s)
	}
	mustCLI(t, n.url, "resume", paused.id)
	for _, c := range append(cases, paused) {
		c.finish(t, n)
	}
	w := cli(t, n.url, "wait", plain)
	if w.code != 1 || !containsAny(string(w.stderr)+string(w.stdout), "lost", "not migratable") {
		t.Errorf("non-migratable instance after SIGKILL: %v, want exit 1 saying it was lost", w)
	}
	if h := health(t, n.url); h.Status != "ok" {
		t.Errorf("health after recovery: %+v", h)
	}
}

// startProg starts c on n and waits until it has printed a line.
func startProg(t *testing.T, n *nodeProc, c *durableCase) string {
	t.Helper()
	args := append(append(append([]string{"start"}, c.start...), wasmPath(c.name)), c.args...)
	id := mustCLI(t, n.url, args...)
	ok := pollUntil(t, 10*time.Second, func() bool {
		code, _, body, err := apiDo(http.MethodGet, n.url+"/v1/instances/"+id+"/stdout", nil)
		return err == nil && code == http.StatusOK && bytes.Count(body, []byte("\n")) >= 1
	})
	if !ok {
		t.Fatalf("instance %s (%s) printed nothing within 10 s", id, c.name)
	}
	return id
}

// checkpointedAt waits until the instance's last checkpoint is later than
// after and returns its time.
func checkpointedAt(t *testing.T, n *nodeProc, id string, after time.Time) time.Time {
	t.Helper()
	var at time.Time
	ok := pollUntil(t, 20*time.Second, func() bool {
		for _, in := range psJSON(t, n.url) {
			if in.ID == id {
				at = in.CheckpointedAt
			}
		}
		return at.After(after)
	})
	if !ok {
		t.Fatalf("instance %s: no checkpoint after %v within 20 s\n%s", id, after, n.log())
	}
	return at
}

// finish waits for the instance and compares its exit code and logs with
// roam run's.
func (c *durableCase) finish(t *testing.T, n *nodeProc) {
	t.Helper()
	w := cli(t, n.url, "wait", c.id)
	if w.code != c.ref.code {
		t.Errorf("%s %v: wait: exit %d, want %d\n%v", c.name, c.args, w.code, c.ref.code, w)
	}
	l := cli(t, n.url, "logs", c.id)
	if !bytes.Equal(l.stdout, c.ref.stdout) {
		t.Errorf("%s %v: stdout differs from roam run: %s", c.name, c.args, firstDiff(c.ref.stdout, l.stdout))
	}
	if !bytes.Equal(l.stderr, c.ref.stderr) {
		t.Errorf("%s %v: stderr differs from roam run: %s", c.name, c.args, firstDiff(c.ref.stderr, l.stderr))
	}
}

// TestMemoryLimit: a guest that grows its memory past its limit sees
// memory.grow fail (c-memgrow's malloc returns NULL and it exits 4), the
// node goes on; a limit over the node's maximum and a module whose memory
// starts above its limit are refused at start with too_large.
func TestMemoryLimit(t *testing.T) {
	n := startNode(t, "a", nodeOpts{args: []string{"--max-memory", "16MiB"}})
	logsOnFailure(t, n)
	id := mustCLI(t, n.url, "start", wasmPath("c-memgrow"), "64")
	w := cli(t, n.url, "wait", id)
	out := mustCLI(t, n.url, "logs", id)
	if w.code != 4 || !containsAny(out, "realloc failed", "malloc failed") {
		t.Errorf("c-memgrow 64 under a 16 MiB limit: exit %d, stdout %q; want exit 4 and a failed allocation", w.code, out)
	}
	if in := locate(t, n, id); in.code != http.StatusOK {
		t.Errorf("instance after the failed growth: %s", in)
	}
	if h := health(t, n.url); h.Status != "ok" {
		t.Errorf("node after the failed growth: %+v", h)
	}

	r := cli(t, n.url, "start", "--memory-limit", "32MiB", wasmPath("c-sleep"))
	if msg := singleLineError(t, r); r.code != 1 || !containsAny(msg, "over the maximum") || !strings.Contains(msg, "16.0 MiB") {
		t.Errorf("start with a limit over the node's maximum: exit %d %q, want 1 naming the maximum", r.code, msg)
	}
	code, _, body := httpCall(t, http.MethodPost, n.url+"/v1/instances", poolToken,
		strings.NewReader(`{"module":"`+uploadDigest(t, n, "c-sleep")+`","args":["c-sleep"],"memory_limit":33554432}`))
	if code != http.StatusRequestEntityTooLarge || !containsAny(string(body), `"too_large"`) {
		t.Errorf("API start over the maximum: %d %s, want 413 too_large", code, body)
	}
	r = cli(t, n.url, "start", "--memory-limit", "4MiB", wasmPath("c-recursion"))
	if msg := singleLineError(t, r); r.code != 1 || !containsAny(msg, "starts with") {
		t.Errorf("start of a module whose memory starts above its limit: exit %d %q, want 1 saying so", r.code, msg)
	}
	small := mustCLI(t, n.url, "start", "--memory-limit", "4MiB", wasmPath("c-sleep"), "3")
	if w := cli(t, n.url, "wait", small); w.code != 0 {
		t.Errorf("c-sleep under a 4 MiB limit: %v", w)
	}

	// The limit travels: a node whose maximum is lower refuses the move
	// at its begin, and the instance runs on at the source.
	big := startNode(t, "big", nodeOpts{})
	logsOnFailure(t, big)
	id = mustCLI(t, big.url, "start", wasmPath("c-sleep"), "500")
	msg := migrateFails(t, big, id, n.url)
	wantMessage(t, "migrate to a node with a lower maximum", msg, []string{"begin", "over the maximum", "still runs on the source"})
	wantStatus(t, big, id, "running")
	mustCLI(t, big.url, "stop", id)
}

// uploadDigest uploads a test program to n and returns its digest.
func uploadDigest(t *testing.T, n *nodeProc, name string) string {
	t.Helper()
	id := mustCLI(t, n.url, "start", wasmPath(name), "1") // uploads it
	cli(t, n.url, "wait", id)
	for _, in := range psJSON(t, n.url) {
		if in.ID == id {
			return in.Module
		}
	}
	t.Fatalf("instance %s not listed", id)
	return ""
}
