package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Set by TestMain.
var (
	roamBin  string // the roam binary built for this test run
	repoRoot string // the module root (holds go.mod)
	cacheDir string // ROAM_CACHE_DIR shared by the tests of this package
)

// processTimeout bounds every roam process: a hung guest or a deadlock in
// roam fails the test instead of hanging it. Cold compilation of the larger
// Go guests in migratable mode takes tens of seconds on the 2-core machine.
const processTimeout = 3 * time.Minute

// TestMain builds roam once into a temporary directory and gives the whole
// package one fresh module store / compilation cache (ROAM_CACHE_DIR), so
// that the runs are hermetic with respect to the user's cache but compile
// each guest only once. Tests that need an empty store make their own.
//
// ROAM_E2E_CACHE=DIR reuses DIR as the cache instead (faster iterations
// while developing the tests; never set in CI).
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = wd
	for {
		if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(repoRoot)
		if parent == repoRoot {
			fmt.Fprintln(os.Stderr, "e2e: no go.mod above", wd)
			return 1
		}
		repoRoot = parent
	}
	tmp, err := os.MkdirTemp("", "roam-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	roamBin = filepath.Join(tmp, "roam")
	build := exec.Command("go", "build", "-o", roamBin, "./cmd/roam")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/roam: %v\n%s", err, out)
		return 1
	}
	cacheDir = os.Getenv("ROAM_E2E_CACHE")
	if cacheDir == "" {
		cacheDir = filepath.Join(tmp, "cache")
	}
	return m.Run()
}

// result is the outcome of one roam process.
type result struct {
	args   []string
	stdout []byte
	stderr []byte
	code   int
	dur    time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("roam %s: exit %d after %v\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.dur.Round(time.Millisecond), clip(r.stderr))
}

// clip shortens long outputs for failure messages.
func clip(b []byte) string {
	const max = 2000
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max/2]) + "\n[...]\n" + string(b[len(b)-max/2:])
}

type opts struct {
	cache   string        // ROAM_CACHE_DIR; "" means the shared one
	env     []string      // extra K=V for the roam process
	timeout time.Duration // 0: processTimeout
}

// roam runs the roam binary with the shared cache.
func roam(t testing.TB, args ...string) result {
	t.Helper()
	return roamWith(t, opts{}, args...)
}

// roamWith runs the roam binary and waits for it. The process gets no
// stdin, a clean ROAM_* environment and the cache directory of o.
func roamWith(t testing.TB, o opts, args ...string) result {
	t.Helper()
	timeout := o.timeout
	if timeout == 0 {
		timeout = processTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, roamBin, args...)
	cache := o.cache
	if cache == "" {
		cache = cacheDir
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROAM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ROAM_CACHE_DIR="+cache)
	cmd.Env = append(cmd.Env, o.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{args: args, stdout: stdout.Bytes(), stderr: stderr.Bytes(), dur: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("roam %s: killed after %v (timeout); %d bytes on stdout; stderr:\n%s", strings.Join(args, " "), timeout, len(r.stdout), clip(r.stderr))
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("roam %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// Lines roam itself writes to stderr around the guest's own output.
var (
	pausedRE = regexp.MustCompile(`(?m)^roam: paused at (\S+), snapshot written to (.+)\n`)
	hopRE    = regexp.MustCompile(`(?m)^roam: trace: hop \d+ at \S+\n`)
)

// guestStderr is stderr without roam's pause and trace lines.
func guestStderr(b []byte) []byte {
	return hopRE.ReplaceAll(pausedRE.ReplaceAll(b, nil), nil)
}

// paused reports whether r is a run that paused and wrote snapshot file:
// exit 0, the stderr line naming file, and the file on disk. It returns the
// function named in the line.
func paused(t testing.TB, r result, file string) (string, bool) {
	t.Helper()
	m := pausedRE.FindAllSubmatch(r.stderr, -1)
	_, statErr := os.Stat(file)
	if len(m) == 0 {
		if statErr == nil {
			t.Errorf("%v\nno \"paused at\" line, yet the snapshot %s exists", r, file)
		}
		return "", false
	}
	if len(m) > 1 {
		t.Errorf("%v\n%d \"paused at\" lines, want one", r, len(m))
	}
	if r.code != 0 {
		t.Errorf("%v\npaused with exit %d, want 0", r, r.code)
	}
	if got := string(m[0][2]); got != file {
		t.Errorf("%v\npaused line names %q, want %q", r, got, file)
	}
	if statErr != nil {
		t.Errorf("%v\npaused, but the snapshot: %v", r, statErr)
	}
	return string(m[0][1]), true
}

// singleLineError checks roam's own failure: exit 1, nothing on stdout
// and exactly one "roam: " line on stderr. It returns that line.
func singleLineError(t testing.TB, r result) string {
	t.Helper()
	if r.code != 1 {
		t.Errorf("%v\nexit %d, want 1", r, r.code)
	}
	if len(r.stdout) != 0 {
		t.Errorf("%v\nstdout not empty:\n%s", r, clip(r.stdout))
	}
	s := string(r.stderr)
	if !strings.HasPrefix(s, "roam: ") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("%v\nwant exactly one \"roam: ...\" line on stderr", r)
	}
	return strings.TrimSpace(s)
}

// usageFailure checks a usage error: exit 2, the usage text and a
// "roam: " line naming the problem.
func usageFailure(t testing.TB, r result, want string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("%v\nexit %d, want 2", r, r.code)
	}
	s := string(r.stderr)
	if !strings.Contains(s, "Usage:") {
		t.Errorf("%v\nno usage text on stderr", r)
	}
	if !strings.Contains(s, "roam: ") || !strings.Contains(s, want) {
		t.Errorf("%v\nstderr does not name the problem (%q)", r, want)
	}
}

// program is one guest of testdata/wasm with what the tests need to know
// about it, from testdata/README.md and from the overrides below.
type program struct {
	name       string
	path       string
	size       int64
	exit       int           // expected exit status of roam: the guest's code, 134 for a trap, -1 unknown
	trap       bool          // the program ends in a trap
	needsData  bool          // it wants an empty host directory preopened at /data
	args       []string      // arguments for compiler runs (nil: the program's defaults)
	every      time.Duration // --migrate-every interval (0: the conformance test's default)
	interpArgs []string      // arguments that keep an interpreter run short
}

// overrides adjust how the conformance test runs a program, to keep the
// package within its time budget; everything else runs at its defaults
// (0.2-0.6 s each) with a hop every 10 ms.
type override struct {
	args  []string      // arguments for compiler runs instead of the defaults
	every time.Duration // --migrate-every interval instead of 10 ms
}

var overrides = map[string]override{
	"c-bigmem":  {args: []string{"16", "random", "3000"}}, // default 64 MiB: every hop copies all of it
	"c-demo":    {args: []string{"8"}},                    // default 30 ticks, about 3 s of mostly sleeping
	"go-bigmod": {args: []string{"4"}},
	// The deep-recursion programs keep their default DEPTH (20000 frames,
	// the point of them) with fewer rounds. A restore rewinds all those
	// frames, which takes several milliseconds on a loaded machine: with a
	// hop every 10 ms the guest can make no progress between hops (the
	// timer starts before the rewind; TestMigrateEveryProgresses), so they
	// hop every 25 ms.
	"c-recursion":    {args: []string{"15"}, every: 25 * time.Millisecond},
	"rust-recursion": {args: []string{"6"}, every: 25 * time.Millisecond},
}

// readmeRow is a row of the program table in testdata/README.md.
type readmeRow struct {
	exercises, exit, interpArgs string
}

// readme parses the "## Programs" table of testdata/README.md:
// | program | exercises | args (defaults) | exit | default run | interp. args |
func readme(t testing.TB) map[string]readmeRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]readmeRow{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 6 || cells[0] == "program" {
			continue
		}
		rows[strings.TrimSpace(cells[0])] = readmeRow{
			exercises:  cells[1],
			exit:       strings.TrimSpace(cells[3]),
			interpArgs: strings.Trim(strings.TrimSpace(cells[5]), "`"),
		}
	}
	if len(rows) == 0 {
		t.Fatal("testdata/README.md: no program table found")
	}
	return rows
}

// programs lists testdata/wasm and joins each module with its README row.
// A row this parser does not understand fails the test. Modules without a
// row are listed in missing (TestConformance fails on them: a new program
// must not be skipped silently) and returned with exit -1 (unknown).
func programs(t testing.TB) (ps []program, missing []string) {
	t.Helper()
	rows := readme(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "wasm", "*.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no modules in testdata/wasm")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".wasm")
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		o := overrides[name]
		p := program{name: name, path: f, size: fi.Size(), args: o.args, every: o.every}
		row, ok := rows[name]
		if !ok {
			// Still run it (exit code unknown: the baseline's is taken).
			missing = append(missing, name)
			p.exit = -1
			ps = append(ps, p)
			continue
		}
		exit := strings.Trim(row.exit, "*")
		switch {
		case strings.HasPrefix(exit, "trap"):
			p.exit, p.trap = 134, true
		default:
			n, err := strconv.Atoi(exit)
			if err != nil {
				t.Errorf("testdata/README.md, %s: exit column %q is neither a number nor a trap", name, row.exit)
				continue
			}
			p.exit = n
		}
		p.interpArgs = strings.Fields(row.interpArgs)
		p.needsData = strings.Contains(row.exercises, "`/data`")
		ps = append(ps, p)
	}
	return ps, missing
}

// find returns the program called name; its absence fails the test.
func find(t testing.TB, ps []program, name string) program {
	t.Helper()
	for _, p := range ps {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("program %s is not in testdata/wasm (or has no README row)", name)
	return program{}
}

// runArgs builds `roam run FLAGS... [--dir DATA:/data] MODULE ARGS...`.
func runArgs(p program, data string, guestArgs []string, flags ...string) []string {
	a := append([]string{"run"}, flags...)
	if data != "" {
		a = append(a, "--dir", data+":/data")
	}
	a = append(a, p.path)
	return append(a, guestArgs...)
}

// dirState reads every regular file under dir: relative path -> contents.
// Other kinds of entries are recorded by their kind.
func dirState(t testing.TB, dir string) map[string]string {
	t.Helper()
	if dir == "" {
		return nil
	}
	st := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.IsDir():
			st[rel+"/"] = "(dir)"
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st[rel] = string(b)
		default:
			st[rel] = "(" + d.Type().String() + ")"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// setDirState makes dir hold exactly the regular files and directories of st.
func setDirState(t testing.TB, dir string, st map[string]string) {
	t.Helper()
	if dir == "" {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range sortedKeys(st) {
		p := filepath.Join(dir, k)
		if strings.HasSuffix(k, "/") {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte(st[k]), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// outcome is what a run (possibly over several processes) produced.
type outcome struct {
	stdout, stderr []byte // stderr without roam's pause and trace lines
	code           int
	files          map[string]string
}

// join concatenates the hops of a split run: stdout and guest stderr
// joined, the exit code of the last hop.
func join(rs ...result) outcome {
	var o outcome
	for _, r := range rs {
		o.stdout = append(o.stdout, r.stdout...)
		o.stderr = append(o.stderr, guestStderr(r.stderr)...)
		o.code = r.code
	}
	return o
}

// sameOutcome compares a run against the baseline byte for byte and
// reports the first difference.
func sameOutcome(t testing.TB, what string, want, got outcome) bool {
	t.Helper()
	ok := true
	if got.code != want.code {
		t.Errorf("%s: exit %d, baseline %d", what, got.code, want.code)
		ok = false
	}
	if !bytes.Equal(got.stdout, want.stdout) {
		t.Errorf("%s: stdout differs from the baseline: %s", what, firstDiff(want.stdout, got.stdout))
		ok = false
	}
	if !bytes.Equal(got.stderr, want.stderr) {
		t.Errorf("%s: guest stderr differs from the baseline: %s", what, firstDiff(want.stderr, got.stderr))
		ok = false
	}
	if want.files != nil || got.files != nil {
		for _, k := range union(want.files, got.files) {
			w, inW := want.files[k]
			g, inG := got.files[k]
			switch {
			case !inG:
				t.Errorf("%s: file %s missing (baseline has it)", what, k)
				ok = false
			case !inW:
				t.Errorf("%s: extra file %s (not in the baseline)", what, k)
				ok = false
			case w != g:
				t.Errorf("%s: file %s differs: %s", what, k, firstDiff([]byte(w), []byte(g)))
				ok = false
			}
		}
	}
	return ok
}

func union(a, b map[string]string) []string {
	m := map[string]string{}
	for k := range a {
		m[k] = ""
	}
	for k := range b {
		m[k] = ""
	}
	return sortedKeys(m)
}

// firstDiff describes where two outputs part: the line number, both
// versions of that line and the lengths.
func firstDiff(want, got []byte) string {
	wl := strings.SplitAfter(string(want), "\n")
	gl := strings.SplitAfter(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("first difference at line %d:\n  want %q\n  got  %q\n(%d bytes / %d lines wanted, %d bytes / %d lines got)",
				i+1, w, g, len(want), len(wl), len(got), len(gl))
		}
	}
	return "(no line differs)"
}
