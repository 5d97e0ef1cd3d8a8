// Package e2e runs the roam binary as real processes against the guest
// programs of testdata/wasm: the conformance check (a program's output is
// the same uninterrupted, migrated every few milliseconds, split over
// several processes and across engines), traps and exit codes, error paths
// and `snapshot inspect`.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestConformance runs every program of testdata/wasm
//
//	a. with --migratable=false (the baseline),
//	b. migratable without pauses,
//	c. with --migrate-every (several hops into a fresh runtime),
//	d. split over 2 processes (run, resume) and over 3 (run, resume
//	   --snapshot, resume),
//
// and requires b-d to match a byte for byte: stdout, the guest's stderr,
// the exit code and, for programs with a /data directory, the files left in
// it.
func TestConformance(t *testing.T) {
	ps, missing := programs(t)
	for _, name := range missing {
		t.Errorf("testdata/wasm/%s.wasm has no row in the table of testdata/README.md (its exit code and interpreter arguments): add one", name)
	}
	// Biggest modules (the Go ones: slowest to compile and to hop) first, so
	// that the two parallel slots finish together.
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].size > ps[j].size })
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			conform(t, p)
		})
	}
}

func conform(t *testing.T, p program) {
	newData := func() string {
		if !p.needsData {
			return ""
		}
		return t.TempDir()
	}
	outcomeOf := func(data string, rs ...result) outcome {
		o := join(rs...)
		o.files = dirState(t, data)
		return o
	}

	// a. Baseline.
	data := newData()
	br := roam(t, runArgs(p, data, p.args, "--migratable=false")...)
	base := outcomeOf(data, br)
	if br.code != p.exit && p.exit != -1 {
		t.Fatalf("baseline: %v\nwant exit %d (testdata/README.md)", br, p.exit)
	}
	if !bytes.Contains(base.stdout, []byte("done")) {
		t.Errorf("baseline: stdout has no \"done\" line:\n%s", clip(base.stdout))
	}
	if p.needsData && len(base.files) == 0 {
		t.Errorf("baseline: left no files in /data")
	}
	programChecks(t, p, "baseline", base, br.dur)

	// b. Migratable, no pause.
	data = newData()
	mr := roam(t, runArgs(p, data, p.args)...)
	o := outcomeOf(data, mr)
	sameOutcome(t, "migratable run", base, o)
	programChecks(t, p, "migratable run", o, mr.dur)

	// c. --migrate-every: a hop every 10 ms for small modules; the Go
	// modules (2-5 MB, 100-200 ms to restore) every 50 ms, so that the
	// package stays within its time budget.
	every := 10 * time.Millisecond
	switch {
	case p.every != 0:
		every = p.every
	case p.size > 1<<20:
		every = 50 * time.Millisecond
	}
	data = newData()
	er := roamWith(t, opts{env: []string{"ROAM_TRACE=1"}}, runArgs(p, data, p.args, "--migrate-every", every.String())...)
	hops := len(hopRE.FindAll(er.stderr, -1))
	label := fmt.Sprintf("--migrate-every %v (%d hops)", every, hops)
	if hops == 0 {
		t.Errorf("%s: no hop happened (no \"roam: trace: hop\" line on stderr with ROAM_TRACE=1); %v", label, er)
	}
	o = outcomeOf(data, er)
	sameOutcome(t, label, base, o)
	programChecks(t, p, label, o, er.dur)
	t.Logf("baseline %v, migratable %v, %s %v", br.dur.Round(time.Millisecond), mr.dur.Round(time.Millisecond), label, er.dur.Round(time.Millisecond))

	// d. Split over processes. Both uninterrupted runs include compiling
	// (the first run of each mode compiles the module): the shorter one is
	// the better estimate of the run time.
	split(t, p, p.args, base, min(br.dur, mr.dur), "", "")
}

// split runs p over 2 and over 3 processes and compares both with base:
// run --snapshot s1 → resume s1, and run --snapshot s1 → resume --snapshot
// s2 s1 → resume s2 (the second branch restarts from s1, with the /data
// directory put back as it was when s1 was taken). full is about how long
// an uninterrupted run takes: the pauses come at a quarter of it (at most
// 120 ms; earlier when the program ends first).
// engine1 and engine2 choose the engines of the first process and of the
// others ("" for the default).
func split(t *testing.T, p program, args []string, base outcome, full time.Duration, engine1, engine2 string) {
	dir := t.TempDir()
	var data string
	if p.needsData {
		data = t.TempDir()
	}
	engineFlag := func(e string) []string {
		if e == "" {
			return nil
		}
		return []string{"--engine", e}
	}
	s1 := filepath.Join(dir, "s1.snap")
	s2 := filepath.Join(dir, "s2.snap")
	r1, at1, d1 := pauseAt(t, base, nil, data, nil, s1, min(full/4, 120*time.Millisecond), func(d time.Duration) []string {
		return runArgs(p, data, args, append(engineFlag(engine1), "--snapshot", s1, "--snapshot-after", d.String())...)
	})
	atPause := dirState(t, data)
	if p.name == "c-files" {
		// Its log.txt is open all run: the pause must carry an open file.
		if !openUnder(inspectJSON(t, s1), "/data/") {
			t.Errorf("c-files paused at %s after %v with no file open under /data", at1, d1)
		}
	}
	if engine1 != "" {
		if got := inspectJSON(t, s1).Engine; got != engine1 {
			t.Errorf("snapshot taken on the %s: inspect says engine %q", engine1, got)
		}
	}

	// 2 hops.
	r2 := roam(t, append(append([]string{"resume"}, engineFlag(engine2)...), s1)...)
	o := join(r1, r2)
	o.files = dirState(t, data)
	label := fmt.Sprintf("2 hops (paused after %v at %s)", d1, at1)
	if engine1 != "" || engine2 != "" {
		label = fmt.Sprintf("%s -> %s, %s", engine1, engine2, label)
	}
	sameOutcome(t, label, base, o)
	programChecks(t, p, label, o, r1.dur+r2.dur)
	if engine1 != "" || engine2 != "" {
		return // across engines, 2 hops are enough
	}

	// 3 hops, from the same s1.
	r2b, at2, d2 := pauseAt(t, base, []result{r1}, data, atPause, s2, min(full/4, 120*time.Millisecond), func(d time.Duration) []string {
		return []string{"resume", "--snapshot", s2, "--snapshot-after", d.String(), s1}
	})
	r3 := roam(t, "resume", s2)
	o = join(r1, r2b, r3)
	o.files = dirState(t, data)
	label = fmt.Sprintf("3 hops (paused after %v at %s, then after %v at %s)", d1, at1, d2, at2)
	sameOutcome(t, label, base, o)
	programChecks(t, p, label, o, r1.dur+r2b.dur+r3.dur)
}

// pauseAt runs args(d) until the run pauses and writes snap. When the
// program ends before d, that run must be a normal, complete one (before
// are the earlier hops it continues); then d is halved and the run
// repeated, with the /data directory reset to dataState first.
func pauseAt(t *testing.T, base outcome, before []result, data string, dataState map[string]string, snap string, d time.Duration, args func(time.Duration) []string) (result, string, time.Duration) {
	t.Helper()
	if d > time.Millisecond {
		d = d.Round(time.Millisecond)
	}
	if d <= 0 {
		d = time.Millisecond
	}
	const attempts = 10
	for i := 0; ; i++ {
		setDirState(t, data, dataState)
		r := roam(t, args(d)...)
		if at, ok := paused(t, r, snap); ok {
			return r, at, d
		}
		o := join(append(append([]result(nil), before...), r)...)
		o.files = dirState(t, data)
		sameOutcome(t, fmt.Sprintf("run that ended before --snapshot-after %v", d), base, o)
		if i == attempts-1 {
			t.Fatalf("never paused in %d runs: the program ended before --snapshot-after even at %v; last run: %v", attempts, d, r)
		}
		// Halve d, down to 20µs; below that, a late timer (a loaded
		// machine) is the likelier reason and the same d is tried again.
		if d >= 40*time.Microsecond {
			d /= 2
		}
		t.Logf("ended before --snapshot-after; retrying with %v", d)
	}
}

// programChecks holds what is particular to one program and must hold for
// every way of running it.
func programChecks(t *testing.T, p program, label string, o outcome, wall time.Duration) {
	t.Helper()
	if p.trap && !bytes.Contains(o.stderr, []byte("wasm stack trace")) {
		t.Errorf("%s: trap without a Wasm stack trace on stderr:\n%s", label, clip(o.stderr))
	}
	switch p.name {
	case "c-trap":
		// main → level_one → level_two → level_three → crash_here.
		checkTrace(t, label, o.stderr, "crash_here", "level_three", "level_two", "level_one", "main")
	case "c-sleep":
		// 25 sleeps of 20 ms at the default N: the run (all its processes
		// together) cannot be shorter, whatever pausing does to a sleep.
		if p.args == nil && wall < 25*20*time.Millisecond {
			t.Errorf("%s: took %v in all, shorter than the 500 ms the guest sleeps", label, wall)
		}
		if !bytes.Contains(o.stdout, []byte("\nclock ok\n")) {
			t.Errorf("%s: no \"clock ok\" line", label)
		}
	}
}

// checkTrace requires the stack trace on stderr to name the functions in
// order, innermost first.
func checkTrace(t *testing.T, label string, stderr []byte, funcs ...string) {
	t.Helper()
	s := string(stderr)
	i := strings.Index(s, "wasm stack trace")
	if i < 0 {
		t.Errorf("%s: no Wasm stack trace on stderr:\n%s", label, clip(stderr))
		return
	}
	s = s[i:]
	for _, f := range funcs {
		j := strings.Index(s, "."+f+"(")
		if j < 0 {
			t.Errorf("%s: the stack trace does not name %s (in this order: %s):\n%s", label, f, strings.Join(funcs, ", "), clip(stderr))
			return
		}
		s = s[j:]
	}
}

// TestCrossEngine pauses on one engine and resumes on the other, both ways,
// with the interpreter arguments of testdata/README.md (wazero's
// interpreter is about 75 times slower than its compiler).
func TestCrossEngine(t *testing.T) {
	ps, _ := programs(t)
	for _, name := range []string{"c-files", "c-recursion", "c-float", "c-memgrow", "c-exit", "c-trap", "rust-recursion", "rust-collections", "go-goroutines"} {
		p := find(t, ps, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var data string
			if p.needsData {
				data = t.TempDir()
			}
			br := roam(t, runArgs(p, data, p.interpArgs, "--migratable=false")...)
			base := join(br)
			base.files = dirState(t, data)
			if br.code != p.exit {
				t.Fatalf("baseline: %v\nwant exit %d", br, p.exit)
			}
			// The uninterrupted interpreter run gives the time scale of the
			// interpreter → compiler split; a compiler run of the same
			// arguments takes a millisecond or so, so that split starts
			// at 400µs.
			setDirState(t, data, nil)
			ir := roam(t, runArgs(p, data, p.interpArgs, "--engine", "interpreter")...)
			o := join(ir)
			o.files = dirState(t, data)
			sameOutcome(t, "interpreter run", base, o)

			t.Run("compiler-to-interpreter", func(t *testing.T) {
				split(t, p, p.interpArgs, base, 1600*time.Microsecond, "compiler", "interpreter")
			})
			t.Run("interpreter-to-compiler", func(t *testing.T) {
				split(t, p, p.interpArgs, base, ir.dur*4/3, "interpreter", "compiler")
			})
		})
	}
}

// outcomeOfRun is the baseline (--migratable=false) outcome of p with args,
// for programs without a /data directory.
func outcomeOfRun(t *testing.T, p program, args []string) outcome {
	t.Helper()
	r := roam(t, runArgs(p, "", args, "--migratable=false")...)
	if r.code != p.exit {
		t.Fatalf("baseline: %v\nwant exit %d", r, p.exit)
	}
	return join(r)
}

// inspection is the part of `roam snapshot inspect --json` the tests read.
type inspection struct {
	Module      string `json:"module"`
	Digest      string `json:"digest"`
	Engine      string `json:"engine"`
	Entry       string `json:"entry"`
	MemoryPages uint32 `json:"memory_pages"`
	Frames      []struct {
		Func uint32 `json:"func"`
		Name string `json:"name"`
	} `json:"frames"`
	WASI *struct {
		Args []string `json:"args"`
		FDs  []struct {
			FD        uint32 `json:"fd"`
			Kind      string `json:"kind"`
			GuestPath string `json:"guest_path"`
			HostPath  string `json:"host_path"`
			Offset    uint64 `json:"offset"`
		} `json:"fds"`
	} `json:"wasi"`
}

func inspectJSON(t *testing.T, snap string) inspection {
	t.Helper()
	r := roam(t, "snapshot", "inspect", "--json", snap)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	var v inspection
	if err := json.Unmarshal(r.stdout, &v); err != nil {
		t.Fatalf("snapshot inspect --json: %v\n%s", err, clip(r.stdout))
	}
	return v
}

// TestInspect pauses c-files in the middle of its run (its log.txt open in
// /data) and reads the snapshot with `roam snapshot inspect`, as text and as
// JSON; then resumes it, which must still end as the baseline does.
func TestInspect(t *testing.T) {
	t.Parallel()
	ps, _ := programs(t)
	p := find(t, ps, "c-files")
	data := t.TempDir()
	br := roam(t, runArgs(p, data, nil, "--migratable=false")...)
	base := join(br)
	base.files = dirState(t, data)
	if br.code != 0 {
		t.Fatalf("baseline: %v", br)
	}

	data = t.TempDir()
	snap := filepath.Join(t.TempDir(), "c-files.snap")
	r1, at, _ := pauseAt(t, base, nil, data, nil, snap, 100*time.Millisecond, func(d time.Duration) []string {
		return runArgs(p, data, nil, "--snapshot", snap, "--snapshot-after", d.String())
	})
	logAtPause := dirState(t, data)["log.txt"]

	v := inspectJSON(t, snap)
	sum := sha256.Sum256(mustRead(t, p.path))
	if v.Module != p.path || v.Digest != hex.EncodeToString(sum[:]) {
		t.Errorf("inspect --json: module %q digest %s, want %q %x", v.Module, v.Digest, p.path, sum)
	}
	if v.Engine != "compiler" || v.Entry != "_start" || v.MemoryPages == 0 {
		t.Errorf("inspect --json: engine %q entry %q memory_pages %d", v.Engine, v.Entry, v.MemoryPages)
	}
	var names []string
	for _, f := range v.Frames {
		names = append(names, f.Name)
		if f.Name == "" || strings.HasPrefix(f.Name, "func[") {
			t.Errorf("inspect --json: frame of func %d has no name (%q); c-files keeps its name section", f.Func, f.Name)
		}
	}
	if len(names) == 0 || names[len(names)-1] != at {
		t.Errorf("inspect --json: frames %v; the innermost should be %s, where roam said it paused", names, at)
	}
	if !contains(names, "main") {
		t.Errorf("inspect --json: frames %v do not include main", names)
	}
	if v.WASI == nil {
		t.Fatalf("inspect --json: no wasi state")
	}
	// DESIGN.md 9: argv[0] is MODULE as given.
	if len(v.WASI.Args) != 1 || v.WASI.Args[0] != p.path {
		t.Errorf("inspect --json: guest args %q, want [%q]", v.WASI.Args, p.path)
	}
	var logFD bool
	for _, fd := range v.WASI.FDs {
		if fd.Kind == "file" && fd.GuestPath == "/data/log.txt" {
			logFD = true
			if fd.HostPath != filepath.Join(data, "log.txt") {
				t.Errorf("inspect --json: log.txt host path %q, want %q", fd.HostPath, filepath.Join(data, "log.txt"))
			}
			if fd.Offset > uint64(len(logAtPause)) {
				t.Errorf("inspect --json: log.txt offset %d beyond its size %d at the pause", fd.Offset, len(logAtPause))
			}
		}
	}
	if !logFD {
		t.Errorf("inspect --json: c-files paused after %s has no open file /data/log.txt: %+v", at, v.WASI.FDs)
	}

	r := roam(t, "snapshot", "inspect", snap)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	text := string(r.stdout)
	for _, want := range []string{
		"module:    " + p.path,
		"memory:    ",
		"frames:    ",
		" main (func ",
		" " + at + " (func ",
		"/data/log.txt -> " + filepath.Join(data, "log.txt") + " at offset ",
		"compiler engine",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("snapshot inspect: no %q in\n%s", want, text)
		}
	}

	// Inspecting changed nothing: the run carries on as the baseline.
	r2 := roam(t, "resume", snap)
	o := join(r1, r2)
	o.files = dirState(t, data)
	sameOutcome(t, "resume after inspect", base, o)
}

// openUnder reports whether a snapshot holds an open file under a guest
// directory.
func openUnder(v inspection, dir string) bool {
	if v.WASI == nil {
		return false
	}
	for _, fd := range v.WASI.FDs {
		if fd.Kind == "file" && strings.HasPrefix(fd.GuestPath, dir) {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestErrors covers roam's own failures (exit 1, one line on stderr) and
// usage errors (exit 2 with the usage text).
func TestErrors(t *testing.T) {
	t.Parallel()
	ps, _ := programs(t)
	fib := find(t, ps, "c-fib")
	other := find(t, ps, "c-sort")
	dir := t.TempDir()

	// A valid snapshot of c-fib to break.
	base := outcomeOfRun(t, fib, nil)
	snap := filepath.Join(dir, "fib.snap")
	r1, _, _ := pauseAt(t, base, nil, "", nil, snap, 60*time.Millisecond, func(d time.Duration) []string {
		return runArgs(fib, "", nil, "--snapshot", snap, "--snapshot-after", d.String())
	})
	good := mustRead(t, snap)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("corrupt-snapshot", func(t *testing.T) {
		for _, at := range []int{len(good) / 3, len(good) / 2, len(good) - 40, len(good) - 1} {
			b := bytes.Clone(good)
			b[at] ^= 0x5a
			f := write(fmt.Sprintf("corrupt-%d.snap", at), b)
			line := singleLineError(t, roam(t, "resume", f))
			t.Logf("byte %d of %d flipped: %s", at, len(good), line)
			singleLineError(t, roam(t, "snapshot", "inspect", f))
		}
	})
	t.Run("truncated-snapshot", func(t *testing.T) {
		for _, n := range []int{0, 1, 16, len(good) / 2, len(good) - 1} {
			f := write(fmt.Sprintf("trunc-%d.snap", n), good[:n])
			line := singleLineError(t, roam(t, "resume", f))
			t.Logf("truncated to %d of %d bytes: %s", n, len(good), line)
		}
	})
	t.Run("missing-snapshot", func(t *testing.T) {
		singleLineError(t, roam(t, "resume", filepath.Join(dir, "nope.snap")))
	})
	t.Run("snapshot-of-another-module", func(t *testing.T) {
		line := singleLineError(t, roam(t, "resume", "--module", other.path, snap))
		if !strings.Contains(line, filepath.Base(other.path)) {
			t.Errorf("the error does not name the --module file %s: %s", other.path, line)
		}
	})
	t.Run("module-store-missing", func(t *testing.T) {
		fresh := opts{cache: t.TempDir()}
		line := singleLineError(t, roamWith(t, fresh, "resume", snap))
		if !strings.Contains(line, "--module") {
			t.Errorf("the error does not point at --module: %s", line)
		}
		// With --module the same store-less resume works.
		r2 := roamWith(t, fresh, "resume", "--module", fib.path, snap)
		sameOutcome(t, "resume --module with an empty module store", base, join(r1, r2))
	})
	t.Run("missing-module-file", func(t *testing.T) {
		singleLineError(t, roam(t, "run", filepath.Join(dir, "nope.wasm")))
	})
	t.Run("not-a-module", func(t *testing.T) {
		singleLineError(t, roam(t, "run", write("junk.wasm", []byte("\x00asm\x01\x00\x00\x00junk"))))
		singleLineError(t, roam(t, "run", "--migratable=false", write("junk.wasm", []byte("not wasm at all"))))
	})
	t.Run("usage", func(t *testing.T) {
		usageFailure(t, roam(t, "run", "--bogus", fib.path), "unknown flag: --bogus")
		usageFailure(t, roam(t, "resume", "--bogus", snap), "unknown flag: --bogus")
		usageFailure(t, roam(t, "run"), "missing MODULE")
		usageFailure(t, roam(t, "resume"), "missing SNAPSHOT")
		usageFailure(t, roam(t, "snapshot", "inspect"), "missing SNAPSHOT")
		for _, args := range [][]string{
			{"run", "--snapshot", filepath.Join(dir, "x.snap"), fib.path},
			{"run", "--snapshot-after", "1s", fib.path},
			{"run", "--migratable=false", "--migrate-every", "10ms", fib.path},
			{"run", "--engine", "turbo", fib.path},
		} {
			r := roam(t, args...)
			hasLine := strings.HasPrefix(string(r.stderr), "roam: ") || strings.Contains(string(r.stderr), "\nroam: ")
			if r.code != 2 || !hasLine {
				t.Errorf("%v\nwant exit 2 and a \"roam: \" line", r)
			}
			if len(r.stdout) != 0 {
				t.Errorf("%v\nstdout: %s", r, r.stdout)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "x.snap")); err == nil {
			t.Errorf("a usage error left a snapshot file")
		}
	})
	t.Run("flags-after-module-go-to-guest", func(t *testing.T) {
		// DESIGN.md 9: everything after MODULE goes to the guest unchanged.
		// c-fib reads only its first argument (N=1: one round).
		r := roam(t, "run", "--migratable=false", fib.path, "1", "--bogus")
		if r.code != 0 || !bytes.Contains(r.stdout, []byte("done")) {
			t.Errorf("%v\nwant the guest to run with --bogus as its argument", r)
		}
	})
	t.Run("refused-module-runs-unmigratable", func(t *testing.T) {
		// testdata/wat/table-set.wat mutates a table (table.set), which
		// migratable mode refuses; --migratable=false runs it as is.
		mod := filepath.Join(repoRoot, "testdata", "wat", "table-set.wasm")
		r := roam(t, "run", "--migratable=false", mod)
		if r.code != 0 || string(r.stdout) != "table.set ok\n" || len(r.stderr) != 0 {
			t.Errorf("%v\nstdout %q; want exit 0 and \"table.set ok\"", r, r.stdout)
		}
		line := singleLineError(t, roam(t, "run", mod))
		if !strings.Contains(line, "table.set") || !strings.Contains(line, "migratable") {
			t.Errorf("the refusal does not name the feature and migratable mode: %s", line)
		}
	})
}

// TestPauseDuringRestore pauses a resumed run very early, while the restore
// may still be rewinding thousands of frames of deep recursion, and
// requires the snapshot taken then to continue correctly: a pause request
// must never be honoured in the middle of a rewind (the frames not yet
// rebuilt would be lost, and the frame being rebuilt captured with its
// placeholder arguments).
func TestPauseDuringRestore(t *testing.T) {
	ps, _ := programs(t)
	for _, name := range []string{"c-recursion", "rust-recursion"} {
		p := find(t, ps, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := []string{"3"} // 3 rounds at the default DEPTH of 20000
			base := outcomeOfRun(t, p, args)
			dir := t.TempDir()

			// A snapshot deep in the recursion: at least 1000 frames.
			s0 := filepath.Join(dir, "s0.snap")
			var r0 result
			frames := 0
			for _, d := range []time.Duration{10, 20, 5, 30, 15, 40, 25, 50} {
				d *= time.Millisecond
				os.Remove(s0)
				r0 = roam(t, runArgs(p, "", args, "--snapshot", s0, "--snapshot-after", d.String())...)
				if _, ok := paused(t, r0, s0); !ok {
					sameOutcome(t, "run that ended before --snapshot-after", base, join(r0))
					continue
				}
				if frames = len(inspectJSON(t, s0).Frames); frames >= 1000 {
					break
				}
			}
			if frames < 1000 {
				t.Fatalf("found no pause deep in the recursion (last snapshot: %d frames)", frames)
			}
			r2 := roam(t, "resume", s0)
			sameOutcome(t, fmt.Sprintf("resume of a %d-frame snapshot", frames), base, join(r0, r2))

			// Resume it and pause again almost at once, at several delays.
			pausedOnce := false
			for _, d := range []time.Duration{20, 50, 100, 200, 400, 800, 1600, 3200} {
				d *= time.Microsecond
				s1 := filepath.Join(dir, fmt.Sprintf("s1-%v.snap", d))
				r1 := roam(t, "resume", "--snapshot", s1, "--snapshot-after", d.String(), s0)
				at, ok := paused(t, r1, s1)
				if !ok {
					sameOutcome(t, fmt.Sprintf("resume that ended before --snapshot-after %v", d), base, join(r0, r1))
					continue
				}
				pausedOnce = true
				r2 := roam(t, "resume", s1)
				n1 := len(inspectJSON(t, s1).Frames)
				sameOutcome(t, fmt.Sprintf("resume of the %d-frame snapshot paused again after %v (at %s, %d frames)", frames, d, at, n1), base, join(r0, r1, r2))
			}
			if !pausedOnce {
				t.Errorf("no resume paused")
			}
		})
	}
}

// TestMigrateEveryProgresses: "--migrate-every D counts from each resume,
// so the guest always progresses" (DESIGN.md 9), even when restoring takes
// longer than D. rust-recursion at DEPTH 20000 has over 26000 frames to
// rewind on every restore; its 2 rounds take a few tens of milliseconds
// uninterrupted. With a hop every 5 ms it must still finish, identically.
func TestMigrateEveryProgresses(t *testing.T) {
	t.Parallel()
	ps, _ := programs(t)
	p := find(t, ps, "rust-recursion")
	args := []string{"2"}
	base := outcomeOfRun(t, p, args)
	r := roamWith(t, opts{env: []string{"ROAM_TRACE=1"}, timeout: 30 * time.Second},
		runArgs(p, "", args, "--migrate-every", "5ms")...)
	hops := len(hopRE.FindAll(r.stderr, -1))
	sameOutcome(t, fmt.Sprintf("--migrate-every 5ms (%d hops)", hops), base, join(r))
	if hops == 0 {
		t.Errorf("no hop happened: %v", r)
	}
}
