package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The program the fault tests move: c-demo at 60 ticks runs about 4 s,
// mostly sleeping, long enough for a failed move and a restart of the
// other node to happen while it runs; its 4 MiB sieve makes the pre-copy
// body large enough to cut or corrupt in the middle. Its final state is
// small (about 1 KiB: it dirties little between pre-copy and the pause),
// too small for the dest-stopcopy fault point, which fires after 4 KiB of
// it: that case moves c-bigmem, which rewrites all its 4 MiB all the time.
var (
	faultProg     = "c-demo"
	faultArgs     = []string{"60"}
	faultStopProg = "c-bigmem"
	faultStopArgs = []string{"4", "random", "2000000"} // about 4.5 s
)

// faultCase is a program the subtests of TestMigrationFaults move.
type faultCase struct {
	module string
	args   []string
	ref    result // roam run of the same module and arguments
}

// TestMigrationFaults kills, cuts and corrupts live migrations between real
// node processes at each step of the commit protocol (DESIGN.md section 4)
// and checks, every time, that exactly one copy of the instance runs, that
// its output is intact byte for byte (against roam run), and that the error
// the user sees says what happened.
func TestMigrationFaults(t *testing.T) {
	fc := &faultCase{module: wasmPath(faultProg), args: faultArgs}
	big := &faultCase{module: wasmPath(faultStopProg), args: faultStopArgs}
	bigRef := background(t, "", append([]string{"run", big.module}, big.args...)...)
	fc.ref = roam(t, append([]string{"run", fc.module}, fc.args...)...)
	big.ref = <-bigRef
	for _, c := range []*faultCase{fc, big} {
		if c.ref.code != 0 || len(c.ref.stdout) == 0 {
			t.Fatalf("reference run: %v", c.ref)
		}
	}
	for _, c := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"a-dest-killed-in-precopy", fc.destKilledInPrecopy},
		{"b-dest-killed-in-stop-and-copy", big.destKilledInStopCopy},
		{"c-dest-killed-before-ack", fc.destKilledBeforeAck},
		{"d-source-killed-before-commit", fc.sourceKilledBeforeCommit},
		{"d2-duplicate-commit", fc.duplicateCommit},
		{"e-source-killed-after-commit", fc.sourceKilledAfterCommit},
		{"e2-both-restart-after-commit", fc.bothRestartAfterCommit},
		{"f-cut-in-precopy", func(t *testing.T) { fc.cutStream(t, "", 4096, "pre-copy") }},
		{"f-cut-in-prepare", func(t *testing.T) { fc.cutStream(t, "/prepare HTTP/1.1\r\n", 700, "stop-and-copy") }},
		{"f2-lost-answer-then-partition", fc.lostAnswerThenPartition},
		{"g-corrupt-precopy", func(t *testing.T) { fc.corruptStream(t, "/memory", "delta", "pre-copy") }},
		{"g-corrupt-prepare", func(t *testing.T) { fc.corruptStream(t, "/prepare", "delta", "stop-and-copy") }},
		{"g-corrupt-logs-in-precopy", func(t *testing.T) { fc.corruptStream(t, "/memory", "stdout", "pre-copy") }},
		{"g-restore-damaged-checkpoint", fc.restoreDamagedCheckpoint},
		{"h-destination-down", fc.destinationDown},
		{"i-epoch-fencing", fc.epochFencing},
		{"j-source-killed-in-precopy", func(t *testing.T) { fc.sourceKilledBeforePrepare(t, "source-precopy") }},
		{"k-source-killed-after-pause", func(t *testing.T) { fc.sourceKilledBeforePrepare(t, "source-after-pause") }},
		{"l-dest-killed-after-commit-ack", fc.destKilledAfterCommit},
		{"m-both-killed-after-commit", fc.bothKilledAfterCommit},
		{"n-source-gone-resolve", fc.sourceGoneResolve},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// a. The destination dies (kill -9) on the first pre-copy round.
func (fc *faultCase) destKilledInPrecopy(t *testing.T) {
	fc.destKilled(t, "dest-precopy", "pre-copy", false)
}

// b. The destination dies halfway through receiving the final state.
func (fc *faultCase) destKilledInStopCopy(t *testing.T) {
	fc.destKilled(t, "dest-stopcopy", "stop-and-copy", false)
}

// c. The destination dies prepared (state restored, marker written),
// before it acknowledges: the source resumes; the restarted destination
// lost the prepared state, cleans its marker up and never runs it.
func (fc *faultCase) destKilledBeforeAck(t *testing.T) {
	fc.destKilled(t, "dest-before-ack", "stop-and-copy", true)
}

func (fc *faultCase) destKilled(t *testing.T, fault, step string, prepared bool) {
	a := startNode(t, "a", nodeOpts{})
	b := startNode(t, "b", nodeOpts{env: []string{"ROAM_FAULT=" + fault}})
	logsOnFailure(t, a, b)
	id := fc.start(t, a)
	neverTwoRunning(t, id, a, b)

	msg := migrateFails(t, a, id, b.url)
	wantMessage(t, "migrate", msg, []string{step, "still runs on the source"}, "cannot reach", "connection", "EOF")
	if !b.exited(10 * time.Second) {
		t.Fatalf("destination did not kill itself at %s:\n%s", fault, b.log())
	}
	markers := migrationMarkers(t, b)
	t.Logf("destination's prepared markers after the kill: %v", markers)
	if prepared && len(markers) != 1 {
		t.Errorf("killed at %s, the destination should have left one prepared marker, found %v", fault, markers)
	}
	wantStatus(t, a, id, "running") // the source resumed (or never stopped)

	b.o.env = nil
	b.start(t)
	if m := migrationMarkers(t, b); len(m) != 0 {
		t.Errorf("restarted destination kept its prepared markers: %v", m)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "instances", id)); err == nil {
		t.Logf("note: restarted destination still has %s (no meta.json: not held)", filepath.Join("instances", id))
	}
	oneCopy(t, id, "", a, "", b)
	fc.finish(t, id, a, a, "", b)
}

// d. The source dies after it recorded "moved to B", before it sent the
// commit: the destination holds the instance prepared and paused and runs
// it only once the restarted source answers (committed, or commit again).
func (fc *faultCase) sourceKilledBeforeCommit(t *testing.T) {
	a, b, id, msg := fc.sourceDiesAt(t, "source-before-commit")
	wantMessage(t, "migrate (source died)", msg, nil, sourceLost...)
	if m := migrationMarkers(t, b); len(m) != 1 {
		t.Errorf("destination should hold one prepared migration, markers: %v", m)
	}
	// Prepared, not committed: the destination must not run it on its own.
	time.Sleep(time.Second)
	if l := locate(t, b, id); l.code != http.StatusNotFound {
		t.Errorf("destination shows the instance before any commit (%s); it must hold it paused, unseen", l)
	}
	if s, ok := psStatus(t, b, id); ok {
		t.Errorf("destination lists the instance (%s) before any commit", s)
	}

	a.o.env = nil
	a.start(t)
	resolved := pollUntil(t, 20*time.Second, func() bool {
		l := locate(t, b, id)
		return l.code == http.StatusOK && (l.Status == "running" || l.Status == "exited")
	})
	if !resolved {
		t.Fatalf("the destination did not run the instance within 20 s of the source's restart: %s\nnode b:\n%s\nnode a:\n%s",
			locate(t, b, id), b.log(), a.log())
	}
	if l := locate(t, a, id); l.code != http.StatusTemporaryRedirect || l.movedTo != b.url {
		t.Errorf("restarted source: %s, want a 307 to %s", l, b.url)
	}
	if m := migrationMarkers(t, b); len(m) != 0 {
		t.Errorf("destination kept its prepared marker after the commit: %v", m)
	}
	stopWatch := watchNeverRuns(t, a, id)
	oneCopy(t, id, "", b, b.url, a)
	fc.finish(t, id, b, b, b.url, a)
	stopWatch()
}

// sourceLost: what the message of a migrate whose source node died in the
// middle must say (one of): that the connection to the node was lost. A
// bare "unexpected EOF" does not tell the user what happened, nor that
// the move may have taken place.
var sourceLost = []string{"connection", "lost", "cannot reach", "closed"}

// d2. The commit reaches a prepared destination more than once at the
// same time (the source retries a commit that timed out while the first
// is still being applied; the restarted source's resolver and the
// destination's own outcome query race). Commit is idempotent: exactly
// one run, output intact.
func (fc *faultCase) duplicateCommit(t *testing.T) {
	a, b, id, _ := fc.sourceDiesAt(t, "source-before-commit")
	markers := migrationMarkers(t, b)
	if len(markers) != 1 {
		t.Fatalf("destination should hold one prepared migration, markers: %v", markers)
	}
	mid := strings.TrimSuffix(markers[0], ".json")
	const n = 32
	codes := concurrentPosts(t, b.listen, "/v1/migrations/"+mid+"/commit", n)
	t.Logf("%d concurrent commits of %s: %q", n, mid, codes)
	for _, c := range codes {
		if !strings.HasPrefix(c, "HTTP/1.1 200 ") {
			t.Errorf("a repeated commit of a committed migration should succeed (idempotent), got %s", c)
		}
	}
	a.o.env = nil
	a.start(t)
	stopWatch := watchNeverRuns(t, a, id)
	fc.finish(t, id, b, b, b.url, a)
	stopWatch()
}

// sourceDiesAt starts a move from a to b with the source set to kill
// itself at fault, and waits until it did; msg is what migrate said.
func (fc *faultCase) sourceDiesAt(t *testing.T, fault string, bArgs ...string) (a, b *nodeProc, id, msg string) {
	t.Helper()
	a = startNode(t, "a", nodeOpts{env: []string{"ROAM_FAULT=" + fault}})
	b = startNode(t, "b", nodeOpts{args: bArgs})
	logsOnFailure(t, a, b)
	id = fc.start(t, a)
	neverTwoRunning(t, id, a, b)
	msg = migrateFails(t, a, id, b.url)
	if !a.exited(10 * time.Second) {
		t.Fatalf("source did not kill itself at %s:\n%s", fault, a.log())
	}
	return a, b, id, msg
}

// e. The source dies right after the destination acknowledged the commit:
// the destination runs it to the end; the restarted source redirects.
func (fc *faultCase) sourceKilledAfterCommit(t *testing.T) {
	a, b, id, msg := fc.sourceDiesAt(t, "source-after-commit")
	wantMessage(t, "migrate (source died)", msg, nil, sourceLost...)
	wantStatus(t, b, id, "running")
	a.o.env = nil
	a.start(t)
	if l := locate(t, a, id); l.code != http.StatusTemporaryRedirect || l.movedTo != b.url {
		t.Errorf("restarted source: %s, want a 307 to %s", l, b.url)
	}
	stopWatch := watchNeverRuns(t, a, id)
	oneCopy(t, id, "", b, b.url, a)
	fc.finish(t, id, a, b, b.url, a) // wait through the source: follows its redirect
	stopWatch()
}

// e2. As e, but the destination also restarts (gracefully: it keeps the
// instance and runs it on) before the source comes back. The restarted
// source still must redirect to the destination, which runs the only copy.
func (fc *faultCase) bothRestartAfterCommit(t *testing.T) {
	a, b, id, _ := fc.sourceDiesAt(t, "source-after-commit")
	wantStatus(t, b, id, "running")
	b.term()
	b.start(t)
	wantStatus(t, b, id, "running")
	a.o.env = nil
	a.start(t)
	time.Sleep(2500 * time.Millisecond) // the source's resolver asks the destination after 1 s
	if l := locate(t, a, id); l.code != http.StatusTemporaryRedirect || l.movedTo != b.url {
		t.Errorf("restarted source: %s, want a 307 to %s (the destination runs it)\nnode a:\n%s", l, b.url, a.log())
	}
	oneCopy(t, id, "", b, b.url, a)
	fc.finish(t, id, a, b, b.url, a)
}

// f. The connection between source and destination is cut in the middle
// of a request body (pre-copy round, or the final state).
func (fc *faultCase) cutStream(t *testing.T, marker string, after int, step string) {
	a := startNode(t, "a", nodeOpts{})
	b := startNode(t, "b", nodeOpts{})
	logsOnFailure(t, a, b)
	p := newTCPProxy(t, b.listen)
	p.marker, p.after = []byte(marker), after
	id := fc.start(t, a)

	msg := migrateFails(t, a, id, p.url)
	t.Logf("proxy: %s", p.report())
	if !p.fired() {
		t.Fatalf("the proxy never cut the stream (marker %q, %d bytes after it)", marker, after)
	}
	wantMessage(t, "migrate", msg, []string{step, "still runs on the source"}, "cannot reach", "connection", "EOF", "broken pipe", "reset")
	wantStatus(t, a, id, "running")
	oneCopy(t, id, "running", a, "", b)
	fc.finish(t, id, a, a, "", b)
}

// f2. A pre-copy round reaches the destination but its answer is lost,
// and the network stays down a while (the source's abort is lost too).
// After the network heals, the destination must have discarded the move
// (DESIGN.md 4: "the source resumes and the destination discards") so
// that moving the instance there again works.
func (fc *faultCase) lostAnswerThenPartition(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	b := startNode(t, "b", nodeOpts{})
	logsOnFailure(t, a, b)
	p := newTCPProxy(t, b.listen)
	p.marker, p.dropAnswer, p.partition = []byte("/memory HTTP/1.1\r\n"), true, true
	id := fc.start(t, a)

	msg := migrateFails(t, a, id, p.url)
	t.Logf("proxy: %s", p.report())
	if !p.fired() {
		t.Fatal("the proxy never dropped an answer")
	}
	wantMessage(t, "migrate", msg, []string{"pre-copy", "still runs on the source"}, "cannot reach", "connection", "EOF")
	wantStatus(t, a, id, "running")

	p.heal()
	time.Sleep(300 * time.Millisecond)
	r := cli(t, a.url, "migrate", id, "--to", b.url)
	t.Logf("migrate again after the network healed: exit %d: %s%s", r.code, bytes.TrimSpace(r.stdout), bytes.TrimSpace(r.stderr))
	if r.code != 0 {
		t.Errorf("moving the instance to the destination again after a failed move fails: %s\n"+
			"(the destination never discarded the unprepared migration whose abort was lost)", bytes.TrimSpace(r.stderr))
		oneCopy(t, id, "running", a, "", b)
		fc.finish(t, id, a, a, "", b)
		return
	}
	oneCopy(t, id, "", b, b.url, a)
	fc.finish(t, id, a, b, b.url, a)
}

// g. One byte of a migration body flipped on the way (in the snapshot
// delta, or in the log bytes that precede it).
func (fc *faultCase) corruptStream(t *testing.T, path, where, step string) {
	a := startNode(t, "a", nodeOpts{})
	b := startNode(t, "b", nodeOpts{})
	logsOnFailure(t, a, b)
	p := newFlipProxy(t, b.url, path, where)
	id := fc.start(t, a)

	r := cli(t, a.url, "migrate", id, "--to", p.url)
	t.Logf("proxy: %s", p.report())
	if !p.fired() {
		t.Fatalf("the proxy never saw a %s request to corrupt", path)
	}
	if r.code == 0 {
		t.Errorf("migration with a flipped byte (%s) succeeded: %s\nthe destination must refuse a corrupt stream; "+
			"the instance now runs on the destination with whatever it received", p.report(), bytes.TrimSpace(r.stdout))
		oneCopy(t, id, "", b, p.url, a)
		fc.finish(t, id, a, b, p.url, a)
		return
	}
	msg := singleLineError(t, r)
	t.Logf("migrate: %s", msg)
	wantMessage(t, "migrate", msg, []string{step, "still runs on the source"}, "invalid_snapshot", "corrupt", "checksum")
	wantStatus(t, a, id, "running")
	oneCopy(t, id, "running", a, "", b)
	fc.finish(t, id, a, a, "", b)
}

// g. roam restore of a truncated and of a corrupt checkpoint file.
func (fc *faultCase) restoreDamagedCheckpoint(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	logsOnFailure(t, a)
	id := fc.start(t, a)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.snap")
	mustCLI(t, a.url, "checkpoint", id, "-o", good)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checkpoint: %d bytes", len(b))
	truncated := filepath.Join(dir, "truncated.snap")
	corrupt := filepath.Join(dir, "corrupt.snap")
	flipped := bytes.Clone(b)
	flipped[len(flipped)/2] ^= 0xff
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(corrupt, flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, want string }{{truncated, "truncated"}, {corrupt, "corrupt"}} {
		msg := singleLineError(t, cli(t, a.url, "restore", c.file))
		t.Logf("restore %s: %s", filepath.Base(c.file), msg)
		wantMessage(t, "restore "+filepath.Base(c.file), msg, []string{c.want})
	}
	// The node keeps serving; the intact file restores (as a new, paused
	// instance, stopped at once so that one copy of the program runs).
	copyID := mustCLI(t, a.url, "restore", "--paused", good)
	mustCLI(t, a.url, "stop", copyID)
	wantStatus(t, a, id, "running")
	fc.finish(t, id, a, a, "")
}

// h. The destination is down.
func (fc *faultCase) destinationDown(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	logsOnFailure(t, a)
	down := "http://" + freePort(t)
	joinPool(t, down) // a member that is down, not a stranger
	id := fc.start(t, a)
	msg := migrateFails(t, a, id, down)
	wantMessage(t, "migrate", msg, []string{"cannot reach", "still runs on the source"}, "cannot reach")
	wantStatus(t, a, id, "running")
	fc.finish(t, id, a, a, "")
}

// i. Epochs fence stale moves: after A→B, a begin carrying an epoch A or B
// has already seen is refused, and the move back B→A (a higher epoch) works.
func (fc *faultCase) epochFencing(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	b := startNode(t, "b", nodeOpts{})
	logsOnFailure(t, a, b)
	id := fc.start(t, a)
	mustCLI(t, a.url, "migrate", id, "--to", b.url)
	rec := locate(t, b, id)
	if rec.code != http.StatusOK || rec.Epoch != 2 {
		t.Fatalf("after one move the destination shows %s, want epoch 2", rec)
	}
	begin := func(n *nodeProc, source string, epoch uint64) (int, string) {
		var inst map[string]any
		if err := json.Unmarshal(rec.raw, &inst); err != nil {
			t.Fatal(err)
		}
		inst["epoch"] = epoch
		body, _ := json.Marshal(map[string]any{"migration": "m-stale" + strconv.FormatUint(epoch, 10), "source": source, "instance": inst})
		code, _, resp, err := apiDo(http.MethodPost, n.url+"/v1/migrations", body)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSpace(string(resp))
		t.Logf("begin on %s with epoch %d: %d %s", n.name, epoch, code, s)
		return code, s
	}
	for _, c := range []struct {
		n, src *nodeProc
		epoch  uint64
		codes  []string
	}{
		{a, b, 1, []string{"stale_epoch"}}, // a saw epoch 2 for it
		{a, b, 2, []string{"stale_epoch"}},
		{b, a, 1, []string{"stale_epoch", "conflict"}}, // b holds it at epoch 2
		{b, a, 2, []string{"stale_epoch", "conflict"}},
	} {
		code, body := begin(c.n, c.src.url, c.epoch)
		if code != http.StatusConflict || !containsAny(body, c.codes...) {
			t.Errorf("begin on %s with epoch %d: %d %s, want 409 %v", c.n.name, c.epoch, code, body, c.codes)
		}
	}
	oneCopy(t, id, "running", b, b.url, a)

	out := mustCLI(t, b.url, "migrate", id, "--to", a.url)
	t.Logf("move back: %s", out)
	if l := locate(t, a, id); l.code != http.StatusOK || l.Epoch != 3 {
		t.Errorf("after the move back, a shows %s, want epoch 3", l)
	}
	if code, body := begin(b, a.url, 3); code != http.StatusConflict || !containsAny(body, "stale_epoch") {
		t.Errorf("begin on b with epoch 3 after it left b at epoch 3: %d %s, want 409 stale_epoch", code, body)
	}
	oneCopy(t, id, "running", a, a.url, b)
	fc.finish(t, id, b, a, a.url, b) // wait through b: follows its redirect
}

// --- helpers -----------------------------------------------------------

// start starts the program on n and returns once it has printed two lines.
func (fc *faultCase) start(t *testing.T, n *nodeProc) string {
	t.Helper()
	id := mustCLI(t, n.url, append([]string{"start", fc.module}, fc.args...)...)
	ok := pollUntil(t, 5*time.Second, func() bool {
		code, _, body, err := apiDo(http.MethodGet, n.url+"/v1/instances/"+id+"/stdout", nil)
		return err == nil && code == http.StatusOK && bytes.Count(body, []byte("\n")) >= 2
	})
	if !ok {
		t.Fatalf("instance %s printed nothing within 5 s", id)
	}
	return id
}

// finish waits for the instance through via, checks the exit code and the
// logs on holder against roam run, then that holder alone has it.
func (fc *faultCase) finish(t *testing.T, id string, via, holder *nodeProc, movedTo string, others ...*nodeProc) {
	t.Helper()
	w := cli(t, via.url, "wait", id)
	if w.code != fc.ref.code {
		t.Errorf("wait via %s: exit %d, want %d\n%v", via.name, w.code, fc.ref.code, w)
	}
	if via != holder { // the logs below must be read after the end
		if w := cli(t, holder.url, "wait", id); w.code != fc.ref.code {
			t.Errorf("wait on %s: exit %d, want %d\n%v", holder.name, w.code, fc.ref.code, w)
		}
	}
	l := cli(t, holder.url, "logs", id)
	if l.code != 0 {
		t.Errorf("logs on %s: %v", holder.name, l)
	}
	if !bytes.Equal(l.stdout, fc.ref.stdout) {
		t.Errorf("stdout on %s differs from roam run: %s", holder.name, firstDiff(fc.ref.stdout, l.stdout))
	}
	if !bytes.Equal(l.stderr, fc.ref.stderr) {
		t.Errorf("stderr on %s differs from roam run: %s", holder.name, firstDiff(fc.ref.stderr, l.stderr))
	}
	oneCopy(t, id, "exited", holder, movedTo, others...)
}

// logsOnFailure prints the nodes' logs (of their last start) at the end
// of a failed test, before the nodes are killed.
func logsOnFailure(t *testing.T, nodes ...*nodeProc) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("log of node %s (%s):\n%s", n.name, n.url, n.log())
			}
		}
	})
}

// migrateFails runs roam migrate, which must fail with one line; it
// returns that line.
func migrateFails(t *testing.T, from *nodeProc, id, to string) string {
	t.Helper()
	r := cli(t, from.url, "migrate", id, "--to", to)
	if r.code == 0 {
		t.Fatalf("migrate %s --to %s succeeded, want a failure: %s", id, to, bytes.TrimSpace(r.stdout))
	}
	msg := singleLineError(t, r)
	t.Logf("migrate: %s", msg)
	return msg
}

// wantMessage checks that msg holds every string of all and at least one
// of anyOf (case-insensitive).
func wantMessage(t *testing.T, what, msg string, all []string, anyOf ...string) {
	t.Helper()
	for _, s := range all {
		if !containsAny(msg, s) {
			t.Errorf("%s: message %q does not say %q", what, msg, s)
		}
	}
	if len(anyOf) > 0 && !containsAny(msg, anyOf...) {
		t.Errorf("%s: message %q names none of %q", what, msg, anyOf)
	}
}

func containsAny(s string, subs ...string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

// rawHTTP calls nodes without following redirects.
var rawHTTP = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// apiDo calls a node with the client token, or with the peer token on the
// node-to-node endpoints.
func apiDo(method, u string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	token := poolToken
	if strings.Contains(u, "/v1/migrations") {
		token = peerToken
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rawHTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

// located is what one node says of an instance.
type located struct {
	code    int // HTTP status of GET /v1/instances/{id}; 0: unreachable
	movedTo string
	Status  string `json:"status"`
	Epoch   uint64 `json:"epoch"`
	raw     []byte
	err     error
}

func (l located) String() string {
	switch {
	case l.code == 0:
		return fmt.Sprintf("unreachable (%v)", l.err)
	case l.code == http.StatusTemporaryRedirect:
		return "307 moved to " + l.movedTo
	case l.code == http.StatusOK:
		return fmt.Sprintf("200 %s epoch %d", l.Status, l.Epoch)
	}
	return fmt.Sprintf("%d %s", l.code, bytes.TrimSpace(l.raw))
}

func locate(t *testing.T, n *nodeProc, id string) located {
	t.Helper()
	code, h, body, err := apiDo(http.MethodGet, n.url+"/v1/instances/"+id, nil)
	l := located{code: code, raw: body, err: err}
	switch code {
	case http.StatusOK:
		if err := json.Unmarshal(body, &l); err != nil {
			t.Errorf("GET instance on %s: %v: %s", n.name, err, body)
		}
	case http.StatusTemporaryRedirect:
		l.movedTo = h.Get("Roam-Moved-To")
	}
	return l
}

func wantStatus(t *testing.T, n *nodeProc, id, status string) {
	t.Helper()
	if l := locate(t, n, id); l.code != http.StatusOK || l.Status != status {
		t.Errorf("node %s: instance %s is %s, want %s", n.name, id, l, status)
	}
}

// psStatus is the instance's status in roam ps --json on n.
func psStatus(t *testing.T, n *nodeProc, id string) (string, bool) {
	t.Helper()
	var list []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, n.url, "ps", "--json")), &list); err != nil {
		t.Fatalf("ps --json on %s: %v", n.name, err)
	}
	for _, in := range list {
		if in.ID == id {
			return in.Status, true
		}
	}
	return "", false
}

// oneCopy checks that holder alone has the instance (with status, unless
// empty): every other node either never held it (movedTo "") or
// redirects to movedTo, and only holder lists it in ps.
func oneCopy(t *testing.T, id, status string, holder *nodeProc, movedTo string, others ...*nodeProc) {
	t.Helper()
	seen := []string{}
	h := locate(t, holder, id)
	seen = append(seen, holder.name+": "+h.String())
	if h.code != http.StatusOK || (status != "" && h.Status != status) {
		t.Errorf("holder %s: instance %s is %s, want 200 %s", holder.name, id, h, status)
	}
	if _, ok := psStatus(t, holder, id); !ok {
		t.Errorf("holder %s does not list %s in ps", holder.name, id)
	}
	for _, o := range others {
		l := locate(t, o, id)
		seen = append(seen, o.name+": "+l.String())
		switch {
		case movedTo == "" && l.code != http.StatusNotFound:
			t.Errorf("node %s: instance %s is %s, want 404 (it never held it)", o.name, id, l)
		case movedTo != "" && (l.code != http.StatusTemporaryRedirect || l.movedTo != movedTo):
			t.Errorf("node %s: instance %s is %s, want 307 to %s", o.name, id, l, movedTo)
		}
		if s, ok := psStatus(t, o, id); ok {
			t.Errorf("node %s lists %s in ps (%s), yet %s holds it", o.name, id, s, holder.name)
		}
	}
	t.Logf("copies of %s: %s", id, strings.Join(seen, "; "))
}

// watchNeverRuns polls n until the returned function is called and fails
// the test if n ever shows the instance as its own (200).
func watchNeverRuns(t *testing.T, n *nodeProc, id string) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			code, _, body, err := apiDo(http.MethodGet, n.url+"/v1/instances/"+id, nil)
			if err == nil && code == http.StatusOK {
				t.Errorf("node %s holds instance %s again: %s", n.name, id, bytes.TrimSpace(body))
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { close(stop); <-done }
}

func pollUntil(t *testing.T, d time.Duration, f func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(d); ; {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// migrationMarkers lists the prepared markers in n's data directory.
func migrationMarkers(t *testing.T, n *nodeProc) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(n.dir, "migrations", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// concurrentPosts sends n bodiless POSTs to path at the same instant: each
// on its own connection, all but the last byte written first. It returns
// each answer's status line and body.
func concurrentPosts(t *testing.T, addr, path string, n int) []string {
	t.Helper()
	req := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + peerToken +
		"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, req[:len(req)-1]); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	time.Sleep(50 * time.Millisecond) // let the server read the partial requests
	out := make([]string, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := io.WriteString(c, req[len(req)-1:]); err != nil {
				out[i] = err.Error()
				return
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			status, _, _ := strings.Cut(string(b), "\r\n")
			_, body, _ := strings.Cut(string(b), "\r\n\r\n")
			out[i] = status + " " + strings.TrimSpace(body) + errOrEmpty(err)
		}()
	}
	wg.Wait()
	return out
}

// --- a TCP proxy that cuts or drops -------------------------------------

// tcpProxy forwards loopback connections to target. It arms when marker
// (nil: the first byte) goes by from the source; then either it cuts both
// sides after `after` more bytes from the source, or (dropAnswer) when the
// destination starts to answer on that connection. With partition, it
// refuses every connection from then on until heal.
type tcpProxy struct {
	url, target string
	marker      []byte
	after       int
	dropAnswer  bool
	partition   bool

	mu          sync.Mutex
	armed, cut  bool
	left        int
	forwarded   int64
	lastRequest string
	cutIn       string
	refused     int
	healed      bool
}

var requestLineRE = regexp.MustCompile(`(?:GET|PUT|POST|HEAD) /v1/\S+`)

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{url: "http://" + ln.Addr().String(), target: target}
	joinPool(t, p.url) // nodes migrate through it
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *tcpProxy) fired() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

func (p *tcpProxy) heal() {
	p.mu.Lock()
	p.healed = true
	p.mu.Unlock()
}

func (p *tcpProxy) report() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("cut=%v in %q after %d bytes from the source; %d connections refused while partitioned",
		p.cut, p.cutIn, p.forwarded, p.refused)
}

func (p *tcpProxy) serve(src net.Conn) {
	p.mu.Lock()
	refuse := p.partition && p.cut && !p.healed
	if refuse {
		p.refused++
	}
	p.mu.Unlock()
	if refuse {
		src.Close()
		return
	}
	dst, err := net.Dial("tcp", p.target)
	if err != nil {
		src.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { src.Close(); dst.Close() }) }
	armedHere := false // this connection carried the marker (dropAnswer)
	var connMu sync.Mutex
	go func() { // destination → source
		defer closeBoth()
		buf := make([]byte, 32<<10)
		for {
			n, err := dst.Read(buf)
			if n > 0 {
				connMu.Lock()
				drop := p.dropAnswer && armedHere
				connMu.Unlock()
				if drop {
					p.mu.Lock()
					p.cut = true
					p.cutIn = "answer to " + p.lastRequest
					p.mu.Unlock()
					return
				}
				if _, err := src.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer closeBoth()
	var tail []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			p.mu.Lock()
			if m := requestLineRE.FindAll(chunk, -1); len(m) > 0 {
				p.lastRequest = string(m[len(m)-1])
			}
			keep, cutNow := n, false
			switch {
			case p.cut:
			case !p.armed:
				win := append(tail, chunk...)
				if i := bytes.Index(win, p.marker); i >= 0 {
					p.armed = true
					if p.dropAnswer {
						connMu.Lock()
						armedHere = true
						connMu.Unlock()
						break
					}
					start := i + len(p.marker) - len(tail)
					if n-start >= p.after {
						keep, cutNow = start+p.after, true
					} else {
						p.left = p.after - (n - start)
					}
				} else if k := len(p.marker) - 1; k > 0 && len(win) > k {
					tail = append([]byte(nil), win[len(win)-k:]...)
				}
			case !p.dropAnswer:
				if n >= p.left {
					keep, cutNow = p.left, true
				} else {
					p.left -= n
				}
			}
			if cutNow {
				p.cut, p.cutIn = true, p.lastRequest
			}
			p.forwarded += int64(keep)
			p.mu.Unlock()
			if _, werr := dst.Write(chunk[:keep]); werr != nil || cutNow {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// --- an HTTP proxy that flips one byte -----------------------------------

// flipProxy forwards HTTP requests to target and flips one byte of the
// body of the first migration request whose path ends in suffix: in the
// middle of the snapshot delta (where "delta") or of the stdout bytes that
// precede it (where "stdout").
type flipProxy struct {
	url    string
	suffix string
	where  string

	mu   sync.Mutex
	done bool
	info string
}

func newFlipProxy(t *testing.T, target, suffix, where string) *flipProxy {
	t.Helper()
	to, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flipProxy{url: "http://" + ln.Addr().String(), suffix: suffix, where: where}
	joinPool(t, p.url) // nodes migrate through it
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(to) }, FlushInterval: -1}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/migrations/") && strings.HasSuffix(r.URL.Path, p.suffix) {
			if err := p.flip(r); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *flipProxy) flip(r *http.Request) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	so, _ := strconv.Atoi(r.Header.Get("Roam-Stdout-Length"))
	se, _ := strconv.Atoi(r.Header.Get("Roam-Stderr-Length"))
	pos := -1
	switch {
	case p.where == "stdout" && so > 0:
		pos = so / 2
	case p.where == "delta" && len(body) > so+se:
		pos = so + se + (len(body)-so-se)/2
	}
	if pos >= 0 {
		body[pos] ^= 0xff
		p.done = true
		p.info = fmt.Sprintf("flipped byte %d of %d of %s %s (stdout %d, stderr %d, delta %d bytes)",
			pos, len(body), r.Method, r.URL.Path, so, se, len(body)-so-se)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	return nil
}

func (p *flipProxy) fired() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *flipProxy) report() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		return "nothing flipped"
	}
	return p.info
}

// --- durability of moves (issue 7, item 4) --------------------------------

// j, k. The source dies during pre-copy, or right after it paused the
// guest (the final state not sent): the destination holds an unprepared
// migration, which it drops once the restarted source (which runs the
// instance again from its last checkpoint, or its start) says "aborted".
func (fc *faultCase) sourceKilledBeforePrepare(t *testing.T, fault string) {
	a, b, id, msg := fc.sourceDiesAt(t, fault)
	wantMessage(t, "migrate (source died)", msg, nil, sourceLost...)
	if s, ok := psStatus(t, b, id); ok {
		t.Errorf("destination lists the instance (%s) of a migration that never prepared", s)
	}
	a.o.env = nil
	a.start(t)
	wantStatus(t, a, id, "running")
	fc.finish(t, id, a, a, "", b)
}

// l. The destination dies right after it acknowledged the commit, before
// its first checkpoint of the instance. The source kept its paused copy
// and a durable fallback: once the restarted destination answers that it
// lost the instance, the source runs it again (at a higher epoch). If the
// destination did write its checkpoint in time, it runs it instead.
// Either way, one copy, output intact.
func (fc *faultCase) destKilledAfterCommit(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	b := startNode(t, "b", nodeOpts{env: []string{"ROAM_FAULT=dest-after-commit"}})
	logsOnFailure(t, a, b)
	id := fc.start(t, a)
	neverTwoRunning(t, id, a, b)
	r := cli(t, a.url, "migrate", id, "--to", b.url)
	t.Logf("migrate: exit %d: %s%s", r.code, bytes.TrimSpace(r.stdout), bytes.TrimSpace(r.stderr))
	if !b.exited(10 * time.Second) {
		t.Fatalf("destination did not kill itself after the commit:\n%s", b.log())
	}
	if r.code != 0 {
		t.Errorf("migrate: the destination acknowledged the commit, yet migrate failed: %v", r)
	}
	b.o.env = nil
	b.start(t)
	fc.finishOnHolder(t, id, a, b)
}

// m. Both nodes die right after the commit: the source as soon as it has
// the acknowledgement, the destination as soon as it sent it. Restarted,
// they agree on one holder: the destination if it had its checkpoint,
// else the source from its own copy.
func (fc *faultCase) bothKilledAfterCommit(t *testing.T) {
	a := startNode(t, "a", nodeOpts{env: []string{"ROAM_FAULT=source-after-commit"}})
	b := startNode(t, "b", nodeOpts{env: []string{"ROAM_FAULT=dest-after-commit"}})
	logsOnFailure(t, a, b)
	id := fc.start(t, a)
	neverTwoRunning(t, id, a, b)
	migrateFails(t, a, id, b.url)
	if !a.exited(10*time.Second) || !b.exited(10*time.Second) {
		t.Fatalf("both nodes should have killed themselves after the commit")
	}
	a.o.env, b.o.env = nil, nil
	b.start(t)
	a.start(t)
	fc.finishOnHolder(t, id, a, b)
}

// n. The source dies for good with the migration prepared and not
// committed: the destination lists it as in-doubt after --in-doubt-after,
// and the operator commits it with roam resolve. A source that comes back
// later redirects to the destination and never runs it.
func (fc *faultCase) sourceGoneResolve(t *testing.T) {
	a, b, id, _ := fc.sourceDiesAt(t, "source-before-commit", "--in-doubt-after", "1s")
	ok := pollUntil(t, 30*time.Second, func() bool { s, _ := psStatus(t, b, id); return s == "in-doubt" })
	if !ok {
		t.Fatalf("destination did not list the instance as in-doubt within 30 s:\n%s", b.log())
	}
	if l := locate(t, b, id); l.code != http.StatusNotFound {
		t.Errorf("an in-doubt instance must not be served as held: %s", l)
	}
	r := cli(t, b.url, "resolve", id)
	if r.code != 2 {
		t.Errorf("resolve without --commit or --abort: exit %d, want 2 (usage)", r.code)
	}
	out := mustCLI(t, b.url, "resolve", id, "--commit")
	if out != id+" committed" {
		t.Errorf("resolve --commit: %q", out)
	}
	r = cli(t, b.url, "resolve", id, "--abort")
	if msg := singleLineError(t, r); r.code != 1 || !containsAny(msg, "no migration") {
		t.Errorf("second resolve: exit %d %q, want 1: nothing to resolve", r.code, msg)
	}
	a.o.env = nil
	a.start(t)
	stopWatch := watchNeverRuns(t, a, id)
	fc.finish(t, id, b, b, b.url, a)
	stopWatch()
	pollUntil(t, 10*time.Second, func() bool { return locate(t, a, id).code == http.StatusTemporaryRedirect })
	if l := locate(t, a, id); l.code != http.StatusTemporaryRedirect || l.movedTo != b.url {
		t.Errorf("restarted source: %s, want a 307 to %s", l, b.url)
	}
}

// finishOnHolder waits until exactly one of the nodes holds the instance
// (200) and the other does not list it, then checks its run to the end.
func (fc *faultCase) finishOnHolder(t *testing.T, id string, a, b *nodeProc) {
	t.Helper()
	var holder, other *nodeProc
	settled := pollUntil(t, 30*time.Second, func() bool {
		la, lb := locate(t, a, id), locate(t, b, id)
		switch {
		case la.code == http.StatusOK && lb.code != http.StatusOK:
			holder, other = a, b
		case lb.code == http.StatusOK && la.code != http.StatusOK:
			holder, other = b, a
		default:
			return false
		}
		_, listed := psStatus(t, other, id)
		return !listed
	})
	if !settled {
		t.Fatalf("no single holder within 30 s: a %s, b %s", locate(t, a, id), locate(t, b, id))
	}
	t.Logf("holder: %s (%s)", holder.name, locate(t, holder, id))
	w := cli(t, holder.url, "wait", id)
	if w.code != fc.ref.code {
		t.Errorf("wait on %s: exit %d, want %d\n%v", holder.name, w.code, fc.ref.code, w)
	}
	l := cli(t, holder.url, "logs", id)
	if !bytes.Equal(l.stdout, fc.ref.stdout) {
		t.Errorf("stdout on %s differs from roam run: %s", holder.name, firstDiff(fc.ref.stdout, l.stdout))
	}
	if _, listed := psStatus(t, other, id); listed {
		t.Errorf("node %s lists %s, yet %s holds it", other.name, id, holder.name)
	}
}

// neverTwoRunning polls every node's instance list until the test ends and
// fails it if the instance is ever listed running on two nodes at once. The
// lists are read one after the other, so a move could fall between two
// reads: a node seen running before another is asked again after it, and
// only a node still running then counts.
func neverTwoRunning(t *testing.T, id string, nodes ...*nodeProc) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			var running []*nodeProc
			for _, n := range nodes {
				if listsRunning(n, id) {
					running = append(running, n)
				}
			}
			if len(running) > 1 && listsRunning(running[0], id) {
				t.Errorf("instance %s is running on %s and %s at once", id, running[0].name, running[1].name)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// listsRunning: n is up and lists the instance as running.
func listsRunning(n *nodeProc, id string) bool {
	code, _, body, err := apiDo(http.MethodGet, n.url+"/v1/instances", nil)
	if err != nil || code != http.StatusOK {
		return false // down: it runs nothing
	}
	var list struct {
		Instances []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"instances"`
	}
	if json.Unmarshal(body, &list) != nil {
		return false
	}
	for _, in := range list.Instances {
		if in.ID == id && in.Status == "running" {
			return true
		}
	}
	return false
}
