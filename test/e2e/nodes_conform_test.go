package e2e

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
)

// migratedRE is the summary line of `roam migrate` (DESIGN.md section 9).
var migratedRE = regexp.MustCompile(`^migrated (\S+) to (\S+): downtime=\d+(\.\d+)?ms total=\d+(\.\d+)?ms sent=\d+B rounds=\d+$`)

// nodeConformCases are the programs TestNodeConformance moves between
// nodes, with arguments that make a run last about 1-2 s on the compiler
// (testdata/README.md gives the default run times), long enough for several
// moves with short pauses between them.
var nodeConformCases = []struct {
	name       string
	args       []string
	minSeveral int // moves that must succeed in the run with several (0: 2)
}{
	{name: "go-collections", args: []string{"30"}}, // ~2 s
	{name: "go-goroutines", args: []string{"150"}}, // ~1.5 s
	{name: "c-collections", args: []string{"40"}},  // ~2 s
	{name: "c-files", args: []string{"600"}},       // ~1.2 s; an empty /data of its own
	{name: "c-exit", args: []string{"60"}},         // ~1 s, exit 7
	{name: "c-trap", args: []string{"60"}},         // ~1 s, trap: 134
	{name: "c-recursion", args: []string{"150"}},   // ~1 s at the default DEPTH 20000
	// ~1.5 s, memory grows to ~250 MiB. Pre-copy does not converge while
	// memory grows, so one move lasts about as long as the program: the
	// second move meets the end of the program.
	{name: "c-memgrow", args: []string{"240"}, minSeveral: 1},
	{name: "c-sleep", args: []string{"150"}},         // 3 s, mostly sleeping
	{name: "rust-collections", args: []string{"48"}}, // ~1.5 s
	{name: "rust-recursion", args: []string{"240"}},  // ~1 s at the default DEPTH 20000
}

// TestNodeConformance: each program of nodeConformCases, started on node A
// and moved live between nodes A, B and C while it runs, gives through
// `roam wait` and `roam logs` (asked of A, which redirects) the stdout,
// stderr and exit code of `roam run` byte for byte, and leaves the same
// files; `roam logs -f` started on A before the first move prints all of
// it. Each program runs twice: moved once (A→B) and moved several times
// (A→B→C→A→B→C), with short pauses between moves. The nodes share a volume
// "work" (as shared storage would): a program's /data is a directory in it.
func TestNodeConformance(t *testing.T) {
	o := nodeOpts{volumes: []string{"work=" + t.TempDir()}}
	a, b, c := startNode(t, "a", o), startNode(t, "b", o), startNode(t, "c", o)
	ps, _ := programs(t)
	for _, tc := range nodeConformCases {
		p := find(t, ps, tc.name)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref := nodeReference(t, p, tc.args)
			if strings.HasPrefix(p.name, "go-") {
				// A Go module takes seconds to compile; that a first move to
				// a node compiles it there is covered by the C and Rust
				// programs and by TestCrossISA. Here B and C get it first, so
				// that the program's run is spent moving.
				warmUp(t, p, b, c)
			}
			t.Run("once", func(t *testing.T) {
				moveAround(t, p, tc.args, ref, a, []*nodeProc{b}, 200*time.Millisecond, 1)
			})
			t.Run("several", func(t *testing.T) {
				moveAround(t, p, tc.args, ref, a, []*nodeProc{b, c, a, b, c}, 150*time.Millisecond, cmp.Or(tc.minSeveral, 2))
			})
		})
	}
}

// nodeReference is `roam run` of the program: the outcome every node run
// must reproduce. Its exit code must be the one testdata/README.md gives.
func nodeReference(t *testing.T, p program, args []string) outcome {
	t.Helper()
	data := ""
	if p.needsData {
		data = t.TempDir()
	}
	r := roam(t, runArgs(p, data, args)...)
	if r.code != p.exit {
		t.Fatalf("reference run: exit %d, testdata/README.md says %d\n%v", r.code, p.exit, r)
	}
	if !bytes.Contains(r.stdout, []byte("done checksum ")) {
		t.Fatalf("reference run printed no \"done checksum\" line:\n%s", clip(r.stdout))
	}
	return outcome{stdout: r.stdout, stderr: r.stderr, code: r.code, files: dirState(t, data)}
}

// warmUp has each node load (instrument and compile) the program's module,
// by starting it with small arguments and waiting for it.
func warmUp(t *testing.T, p program, nodes ...*nodeProc) {
	t.Helper()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := <-background(t, n.url, append([]string{"start", p.path}, p.interpArgs...)...)
			if r.code != 0 {
				t.Errorf("warm-up on %s: %v", n.name, r)
				return
			}
			id := strings.TrimSpace(string(r.stdout))
			if w := <-background(t, n.url, "wait", id); w.code != p.exit {
				t.Errorf("warm-up on %s: wait %s: exit %d, want %d\n%v", n.name, id, w.code, p.exit, w)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// moveAround starts the program on node a, moves it to each node of plan
// in turn (asking a, which redirects to the node that holds it), pausing
// gap before each move, and checks the run against ref. A move may fail
// only because the program ended first, and then no later move is tried;
// at least minMoves moves must succeed. A move can outlast a run that
// usually leaves room for several (on a loaded machine, or when the
// destination compiles the module first): then the program runs again
// with twice the work, at most twice more. The checks of every run stand;
// only the shortfall of moves is retried.
func moveAround(t *testing.T, p program, args []string, ref outcome, a *nodeProc, plan []*nodeProc, gap time.Duration, minMoves int) {
	for try := 1; ; try++ {
		moves := moveRun(t, p, args, ref, a, plan, gap)
		if moves >= minMoves {
			return
		}
		if try == 3 {
			t.Errorf("only %d moves succeeded before the program ended, want at least %d, also with its work doubled twice (args %v): give it more work", moves, minMoves, args)
			return
		}
		args = moreWork(t, args)
		t.Logf("only %d moves succeeded before the program ended, want at least %d: again with twice the work (args %v)", moves, minMoves, args)
		ref = nodeReference(t, p, args)
	}
}

// moreWork is args with the first, the program's amount of work (rounds,
// lines or MiB: testdata/README.md), doubled.
func moreWork(t *testing.T, args []string) []string {
	t.Helper()
	n, err := strconv.Atoi(args[0])
	if err != nil {
		t.Fatalf("the program's first argument %q is not its amount of work: %v", args[0], err)
	}
	return append([]string{strconv.Itoa(2 * n)}, args[1:]...)
}

// moveRun is one run of moveAround; it returns how many moves succeeded.
func moveRun(t *testing.T, p program, args []string, ref outcome, a *nodeProc, plan []*nodeProc, gap time.Duration) (moves int) {
	start := []string{"start"}
	data := ""
	if p.needsData {
		var spec string
		data, spec = a.volumeDir(t, "work")
		start = append(start, "--dir", spec+":/data")
	}
	id := mustCLI(t, a.url, append(append(start, p.path), args...)...)
	follow := background(t, a.url, "logs", "-f", id)
	began := time.Now()
	holder := a
	for _, to := range plan {
		time.Sleep(gap)
		t0 := time.Now()
		r := cli(t, a.url, "migrate", id, "--to", to.url)
		if r.code == 0 {
			line := strings.TrimSpace(string(r.stdout))
			if m := migratedRE.FindStringSubmatch(line); m == nil || m[1] != id || m[2] != to.url {
				t.Errorf("move %d, to %s: summary line %q, want \"migrated %s to %s: downtime=..ms total=..ms sent=..B rounds=N\"", moves+1, to.name, line, id, to.url)
			}
			t.Logf("to %s: %s (%v)", to.name, line, time.Since(t0).Round(time.Millisecond))
			holder = to
			moves++
			continue
		}
		msg := singleLineError(t, r)
		if !endedMessage(msg) {
			t.Errorf("move %d, to %s, after %v: the only acceptable failure is that the instance ended, got %q", moves+1, to.name, time.Since(began).Round(time.Millisecond), msg)
		}
		break
	}
	t.Logf("%d of %d moves made in %v", moves, len(plan), time.Since(began).Round(time.Millisecond))

	w := cli(t, a.url, "wait", id)
	if w.code != ref.code {
		t.Errorf("wait (through %s): exit %d, want %d\n%v", a.name, w.code, ref.code, w)
	}
	wantWaitErr := []byte{}
	if p.trap {
		wantWaitErr = ref.stderr // the trap and its Wasm stack trace, as roam run prints them
	}
	if !bytes.Equal(w.stderr, wantWaitErr) || len(w.stdout) != 0 {
		t.Errorf("wait: stdout %q, stderr %q; want no stdout and stderr %q", w.stdout, w.stderr, wantWaitErr)
	}
	l := cli(t, a.url, "logs", id)
	if l.code != 0 {
		t.Errorf("logs: %v", l)
	}
	sameOutcome(t, "logs (through "+a.name+")", outcome{stdout: ref.stdout, stderr: ref.stderr, code: 0, files: ref.files},
		outcome{stdout: l.stdout, stderr: l.stderr, code: l.code, files: dirState(t, data)})
	select {
	case f := <-follow:
		if f.code != 0 {
			t.Errorf("logs -f: %v", f)
		}
		sameOutcome(t, "logs -f (started on "+a.name+" before the first move)", outcome{stdout: ref.stdout, stderr: ref.stderr},
			outcome{stdout: f.stdout, stderr: f.stderr})
	case <-time.After(30 * time.Second):
		t.Errorf("logs -f still runs 30 s after the instance ended")
	}

	// Exactly one node lists it, the last one it moved to, ended as the
	// reference did, with one epoch per move.
	seen := map[*nodeProc]bool{}
	for _, n := range append([]*nodeProc{a}, plan...) {
		if seen[n] {
			continue
		}
		seen[n] = true
		in, ok := listed(psJSON(t, n.url), id)
		switch {
		case n == holder && !ok:
			t.Errorf("ps on %s (where it moved last) does not list %s", n.name, id)
		case n != holder && ok:
			t.Errorf("ps on %s lists %s (%s), which moved to %s", n.name, id, in.Status, holder.name)
		case ok && (in.Status != client.StatusExited || in.ExitCode != ref.code || in.Epoch != uint64(1+moves) || in.Migrations != moves):
			t.Errorf("ps --json on %s: status %s exit %d epoch %d migrations %d; want exited, exit %d, epoch %d, migrations %d",
				n.name, in.Status, in.ExitCode, in.Epoch, in.Migrations, ref.code, 1+moves, moves)
		}
	}
	return moves
}

// endedMessage tells whether a failed move's one line says that the
// instance had ended: during the migration, or before it was asked for.
func endedMessage(msg string) bool {
	return strings.Contains(msg, "ended during the migration") ||
		strings.Contains(msg, "is exited; only a running instance migrates")
}

// slowDestination is a stand-in for a destination node that accepts a
// migration and holds its answer to the first pre-copy round for hold,
// like a destination behind a slow or stalled link; it answers abort.
type slowDestination struct {
	*httptest.Server
	mu         sync.Mutex
	steps      []string
	held       bool      // the first pre-copy round came
	answeredAt time.Time // when it answered the first pre-copy round
}

func newSlowDestination(t *testing.T, hold time.Duration) *slowDestination {
	d := &slowDestination{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		d.mu.Lock()
		d.steps = append(d.steps, r.Method+" "+r.URL.Path)
		memory := r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/memory")
		first := memory && !d.held
		d.held = d.held || memory
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/migrations":
			fmt.Fprint(w, `{"migration":"m"}`)
		case memory:
			if first {
				time.Sleep(hold)
				d.mu.Lock()
				d.answeredAt = time.Now()
				d.mu.Unlock()
			}
			fmt.Fprint(w, `{"ok":true}`)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/abort"):
			fmt.Fprint(w, `{"ok":true}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"code":"internal","message":"not expected in this test"}}`)
		}
	}))
	t.Cleanup(d.Close)
	joinPool(t, d.URL) // a member, as a real destination would be
	return d
}

// TestNodeMigrateEndsDuringPrecopy: an instance that ends while the last
// pre-copy round is on its way must fail the move with the message for
// that case, "ended during the migration", as it does when it ends during
// an earlier round. The destination is a stand-in that holds its answer to
// the first pre-copy round (the only one for a small instance) well past
// the end of the program, which makes that timing certain.
func TestNodeMigrateEndsDuringPrecopy(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	dest := newSlowDestination(t, 1500*time.Millisecond)
	module := wasmPath("c-sleep")
	want := roam(t, "run", module, "10")
	id := mustCLI(t, a.url, "start", module, "10") // ~200 ms
	r := cli(t, a.url, "migrate", id, "--to", dest.URL)
	msg := singleLineError(t, r)
	in, ok := listed(psJSON(t, a.url), id)
	dest.mu.Lock()
	answeredAt, steps := dest.answeredAt, dest.steps
	dest.mu.Unlock()
	if !ok || in.Status != client.StatusExited || answeredAt.IsZero() || !in.EndedAt.Before(answeredAt) {
		t.Fatalf("the instance did not end during the first pre-copy round: %s, ended at %v, round answered at %v, steps %v\n%v",
			in.Status, in.EndedAt, answeredAt, steps, r)
	}
	if !strings.Contains(msg, "ended during the migration") {
		t.Errorf("roam migrate %s --to %s, the instance having ended during the last pre-copy round:\n got %q\nwant a line saying that instance %s ended during the migration", id, dest.URL, msg, id)
	}
	w := cli(t, a.url, "wait", id)
	l := cli(t, a.url, "logs", id)
	if w.code != 0 || !bytes.Equal(l.stdout, want.stdout) {
		t.Errorf("after the failed move: wait exit %d, logs %s", w.code, firstDiff(want.stdout, l.stdout))
	}
}

// TestNodeAnswersDuringSlowPrecopy: while a pre-copy round to a slow
// destination is in flight, the source node still answers `roam ps` and
// GET /v1/instances/ID promptly, also once the instance has ended.
func TestNodeAnswersDuringSlowPrecopy(t *testing.T) {
	a := startNode(t, "a", nodeOpts{})
	const hold = 4 * time.Second
	dest := newSlowDestination(t, hold)
	module := wasmPath("c-sleep")
	id := mustCLI(t, a.url, "start", module, "10") // ~200 ms
	move := background(t, a.url, "migrate", id, "--to", dest.URL)
	time.Sleep(time.Second) // the round is held; the program has ended
	ps := cli(t, a.url, "ps")
	w := cli(t, a.url, "wait", id)
	if ps.code != 0 || ps.dur > time.Second {
		t.Errorf("roam ps on the source took %v while a pre-copy round was held (%v in all); want an answer within 1 s\n%v", ps.dur.Round(time.Millisecond), hold, ps)
	}
	if w.code != 0 || w.dur > time.Second {
		t.Errorf("roam wait %s (ended) took %v while a pre-copy round was held; want an answer within 1 s\n%v", id, w.dur.Round(time.Millisecond), w)
	}
	<-move
}

// TestNodeMigrateFromInterpreter: a program running on a node with the
// interpreter engine, moved live to a compiler node at various points,
// ends with the output of `roam run`, every time. The guest writes its
// memory while the slow interpreter is pre-copied, so each move needs
// several rounds and its last one must carry every page dirtied since the
// one before (an early version lost some of them).
func TestNodeMigrateFromInterpreter(t *testing.T) {
	in := startNode(t, "interp", nodeOpts{engine: "interpreter"})
	a := startNode(t, "a", nodeOpts{})
	if h := health(t, in.url); h.Engine != "interpreter" {
		t.Fatalf("node started with --engine interpreter: /healthz %+v", h)
	}
	module := wasmPath("rust-collections")
	want := roam(t, "run", module, "6")
	bad := 0
	delays := []time.Duration{200, 400, 600, 800, 1000, 1200, 1400, 1600}
	for _, d := range delays {
		d *= time.Millisecond
		id := mustCLI(t, in.url, "start", module, "6") // ~2 s per round on the interpreter
		time.Sleep(d)
		mustCLI(t, in.url, "migrate", id, "--to", a.url)
		w := cli(t, a.url, "wait", id)
		l := cli(t, a.url, "logs", id)
		if w.code != 0 || !bytes.Equal(l.stdout, want.stdout) {
			bad++
			t.Errorf("moved from the interpreter node to the compiler node after %v: exit %d; stdout differs from roam run: %s", d, w.code, firstDiff(want.stdout, l.stdout))
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d runs moved from the interpreter differ", bad, len(delays))
	}
}

// TestNodeMigrateDeepRecursion: c-recursion moved once from node A to B
// ends as `roam run` does. At DEPTH 3750 its linear memory is still the
// module's initial 129 pages when it moves; at DEPTH 3800 its list has
// grown the memory to 130 pages. (TestNodeConformance moves it at the
// default DEPTH 20000, 133 pages; a checkpoint of such an instance taken on
// A and restored on B with `roam restore` runs to the end correctly.)
func TestNodeMigrateDeepRecursion(t *testing.T) {
	a, b := startNode(t, "a", nodeOpts{}), startNode(t, "b", nodeOpts{})
	ps, _ := programs(t)
	p := find(t, ps, "c-recursion")
	for _, depth := range []string{"3750", "3800"} {
		t.Run("depth-"+depth, func(t *testing.T) {
			// ~2 s: the move (B compiles the module first, ~0.3 s) must
			// start and end well before the program does.
			args := []string{"1000", depth}
			moveAround(t, p, args, nodeReference(t, p, args), a, []*nodeProc{b}, 300*time.Millisecond, 1)
		})
	}
}

// TestNodeRestartKeepsInstances: a node stopped by SIGTERM while it runs
// instances exits 0 by itself within seconds; started again on the same
// data directory it goes on with them: a running one resumes and ends with
// the reference output; one paused by `roam pause` stays paused until
// `roam resume`, then ends with the reference output too.
func TestNodeRestartKeepsInstances(t *testing.T) {
	n := startNode(t, "r", nodeOpts{})
	module := wasmPath("c-sleep")
	const iters = "150"                                // 150 x 20 ms: 3 s, mostly sleeping
	refc := background(t, n.url, "run", module, iters) // sleeps alongside
	running := mustCLI(t, n.url, "start", module, iters)
	paused := mustCLI(t, n.url, "start", module, iters)
	time.Sleep(300 * time.Millisecond)
	if out := mustCLI(t, n.url, "pause", paused); out != paused+" paused" {
		t.Errorf("roam pause: %q, want %q", out, paused+" paused")
	}
	time.Sleep(200 * time.Millisecond)
	before := cli(t, n.url, "logs", running).stdout
	pausedOut := cli(t, n.url, "logs", paused).stdout
	if len(before) == 0 || bytes.Contains(before, []byte("done checksum")) {
		t.Fatalf("before the restart, the running instance printed (want some, not all):\n%s", before)
	}

	t0 := time.Now()
	n.sigterm()
	if !n.exited(5 * time.Second) {
		t.Fatalf("node still runs 5 s after SIGTERM:\n%s", n.log())
	}
	t.Logf("node stopped %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
	if code := n.exitCode(); code != 0 {
		t.Errorf("node exited %d after SIGTERM, want 0:\n%s", code, n.log())
	}
	n.start(t)

	list := psJSON(t, n.url)
	if in, ok := listed(list, running); !ok || in.Status != client.StatusRunning {
		t.Errorf("ps --json after the restart: %s is %+v (listed %v), want running; logs:\n%s", running, in, ok, cli(t, n.url, "logs", running).stdout)
	}
	if in, ok := listed(list, paused); !ok || in.Status != client.StatusPaused {
		t.Errorf("ps --json after the restart: %s is %+v (listed %v), want paused", paused, in.Status, ok)
	}
	text := mustCLI(t, n.url, "ps")
	for _, id := range []string{running, paused} {
		if !strings.Contains(text, id) {
			t.Errorf("ps after the restart does not show %s:\n%s", id, text)
		}
	}

	// The paused one has not moved on, through the restart and since.
	time.Sleep(200 * time.Millisecond)
	if in, ok := listed(psJSON(t, n.url), paused); !ok || in.Status != client.StatusPaused {
		t.Errorf("200 ms after the restart, %s is %s, want still paused", paused, in.Status)
	}
	if got := cli(t, n.url, "logs", paused).stdout; !bytes.Equal(got, pausedOut) {
		t.Errorf("the paused instance printed while paused: %d bytes before the restart, %d now", len(pausedOut), len(got))
	}
	if out := mustCLI(t, n.url, "resume", paused); out != paused+" running" {
		t.Errorf("roam resume: %q, want %q", out, paused+" running")
	}

	ref := <-refc
	if ref.code != 0 {
		t.Fatalf("reference: %v", ref)
	}
	if !bytes.HasPrefix(ref.stdout, before) || !bytes.HasPrefix(ref.stdout, pausedOut) {
		t.Errorf("before the restart, the instances printed what the reference did not:\n%s\n%s", before, pausedOut)
	}
	w := cli(t, n.url, "wait", running)
	if w.code != 0 {
		t.Errorf("wait %s after the restart: %v", running, w)
	}
	l := cli(t, n.url, "logs", running)
	sameOutcome(t, "logs of the instance that ran through the restart", outcome{stdout: ref.stdout, stderr: ref.stderr}, outcome{stdout: l.stdout, stderr: l.stderr})

	w = cli(t, n.url, "wait", paused)
	if w.code != 0 {
		t.Errorf("wait %s after resume: %v", paused, w)
	}
	l = cli(t, n.url, "logs", paused)
	sameOutcome(t, "logs of the instance paused across the restart", outcome{stdout: ref.stdout, stderr: ref.stderr}, outcome{stdout: l.stdout, stderr: l.stderr})
}

// TestNodeAPIErrors: the node's answers to bad requests, through the CLI
// (exit 1 and one line) and through raw HTTP (status and JSON error code).
func TestNodeAPIErrors(t *testing.T) {
	n := startNode(t, "e", nodeOpts{})
	apiError := func(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
		t.Helper()
		var e struct {
			Error *client.Error `json:"error"`
		}
		if status != wantStatus || json.Unmarshal(body, &e) != nil || e.Error == nil || e.Error.Code != wantCode || e.Error.Message == "" {
			t.Errorf("%s: %d %s; want %d {\"error\":{\"code\":%q,\"message\":...}}", what, status, body, wantStatus, wantCode)
		}
	}

	t.Run("token", func(t *testing.T) {
		for _, token := range []string{"", "wrong-" + poolToken} {
			for _, path := range []string{"/v1/instances", "/v1/node", "/metrics", "/v1/instances/i-0123456789abcdef/wait"} {
				status, h, body := httpCall(t, http.MethodGet, n.url+path, token, nil)
				apiError(t, fmt.Sprintf("GET %s with token %q", path, token), status, body, http.StatusUnauthorized, client.CodeUnauthorized)
				if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("GET %s with token %q: Content-Type %q, want application/json", path, token, ct)
				}
			}
		}
		status, _, body := httpCall(t, http.MethodPost, n.url+"/v1/modules", "", strings.NewReader("\x00asm\x01\x00\x00\x00"))
		apiError(t, "POST /v1/modules without a token", status, body, http.StatusUnauthorized, client.CodeUnauthorized)

		noToken := roamWith(t, opts{env: []string{"ROAM_SERVER=" + n.url}}, "ps")
		if msg := singleLineError(t, noToken); !strings.Contains(msg, "token") {
			t.Errorf("roam ps without a token: %q does not mention the token", msg)
		}
		wrong := cli(t, n.url, "--token", "wrong", "ps")
		if msg := singleLineError(t, wrong); !strings.Contains(msg, "token") {
			t.Errorf("roam --token wrong ps: %q does not mention the token", msg)
		}
	})

	t.Run("healthz", func(t *testing.T) {
		h := health(t, n.url)
		if h.Status != "ok" || h.Name != "e" || h.Arch != "amd64" || h.Engine != "compiler" {
			t.Errorf("GET /healthz without a token: %+v, want status ok, name e, arch amd64, engine compiler", h)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		status, h, body := httpCall(t, http.MethodGet, n.url+"/metrics", poolToken, nil)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET /metrics: %d, Content-Type %q", status, h.Get("Content-Type"))
		}
		for _, want := range []string{
			"# TYPE roam_instances gauge\n", "\nroam_instances ",
			"# TYPE roam_migration_downtime_seconds histogram\n", "\nroam_migration_downtime_seconds_count ",
		} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("GET /metrics: no %q in\n%s", want, clip(body))
			}
		}
	})

	t.Run("not-wasm", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.wasm")
		if err := os.WriteFile(bad, []byte("this is not WebAssembly\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		msg := singleLineError(t, cli(t, n.url, "start", bad))
		if !strings.Contains(msg, "not a WebAssembly module") {
			t.Errorf("roam start of a text file: %q", msg)
		}
		status, _, body := httpCall(t, http.MethodPost, n.url+"/v1/modules", poolToken, strings.NewReader("this is not WebAssembly\n"))
		apiError(t, "POST /v1/modules of a text file", status, body, http.StatusUnprocessableEntity, client.CodeInvalidModule)
	})

	t.Run("not-found", func(t *testing.T) {
		for _, args := range [][]string{{"wait", "i-doesnotexist"}, {"logs", "i-doesnotexist"}, {"migrate", "i-doesnotexist", "--to", n.url}} {
			msg := singleLineError(t, cli(t, n.url, args...))
			if !strings.Contains(msg, "not found") {
				t.Errorf("roam %s: %q does not say not found", strings.Join(args, " "), msg)
			}
		}
		status, _, body := httpCall(t, http.MethodGet, n.url+"/v1/instances/i-doesnotexist/wait", poolToken, nil)
		apiError(t, "GET /v1/instances/i-doesnotexist/wait", status, body, http.StatusNotFound, client.CodeNotFound)
	})

	t.Run("destination-down", func(t *testing.T) {
		module := wasmPath("c-sleep")
		ref := roam(t, "run", module, "40")
		id := mustCLI(t, n.url, "start", module, "40") // 0.8 s
		dead := "http://" + freePort(t)
		joinPool(t, dead) // a member that is down, not a stranger
		r := cli(t, n.url, "migrate", id, "--to", dead)
		msg := singleLineError(t, r)
		if !strings.Contains(msg, "cannot reach") || !strings.Contains(msg, strings.TrimPrefix(dead, "http://")) {
			t.Errorf("roam migrate to a node that is down: %q; want it to say it cannot reach %s", msg, dead)
		}
		if in, ok := listed(psJSON(t, n.url), id); !ok || in.Status != client.StatusRunning || in.Epoch != 1 {
			t.Errorf("after the failed move: %s is %s (listed %v, epoch %d), want running at epoch 1", id, in.Status, ok, in.Epoch)
		}
		w := cli(t, n.url, "wait", id)
		l := cli(t, n.url, "logs", id)
		sameOutcome(t, "the run after a move to a node that is down", outcome{stdout: ref.stdout, stderr: ref.stderr, code: ref.code},
			outcome{stdout: l.stdout, stderr: l.stderr, code: w.code})
	})

	// A destination outside the pool gets nothing: no instance, no token.
	t.Run("not-a-peer", func(t *testing.T) {
		var got atomic.Int32
		stranger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
		defer stranger.Close()
		id := mustCLI(t, n.url, "start", wasmPath("c-sleep"), "20")
		msg := singleLineError(t, cli(t, n.url, "migrate", id, "--to", stranger.URL))
		if !strings.Contains(msg, "not a peer") || !strings.Contains(msg, strings.TrimPrefix(stranger.URL, "http://")) || !strings.Contains(msg, "--peers") {
			t.Errorf("roam migrate --to a node outside the pool: %q; want it to name the URL, say it is not a peer and point to --peers", msg)
		}
		if got.Load() != 0 {
			t.Errorf("the stranger received %d requests", got.Load())
		}
		status, _, body := httpCall(t, http.MethodPost, n.url+"/v1/instances/"+id+"/migrate", poolToken, strings.NewReader(`{"to":"`+stranger.URL+`"}`))
		apiError(t, "POST migrate to a node outside the pool", status, body, http.StatusForbidden, client.CodeNotAPeer)
		status, _, body = httpCall(t, http.MethodGet, n.url+"/v1/migrations/m-1", poolToken, nil)
		apiError(t, "GET /v1/migrations/m-1 with the client token", status, body, http.StatusUnauthorized, client.CodeUnauthorized)
		cli(t, n.url, "wait", id)
	})

	t.Run("garbage-snapshot", func(t *testing.T) {
		junk := make([]byte, 2<<20)
		_, _ = rand.Read(junk)
		status, _, body := httpCall(t, http.MethodPost, n.url+"/v1/instances/restore", poolToken, bytes.NewReader(junk))
		apiError(t, "POST /v1/instances/restore of 2 MiB of random bytes", status, body, http.StatusUnprocessableEntity, client.CodeInvalidSnapshot)
		if h := health(t, n.url); h.Status != "ok" {
			t.Errorf("after the garbage snapshot: /healthz %+v", h)
		}
		if list := psJSON(t, n.url); len(list) > 0 {
			for _, in := range list {
				if in.Status == client.StatusPaused || in.Status == client.StatusRunning {
					t.Errorf("the garbage snapshot left an instance: %+v", in)
				}
			}
		}
	})
}
