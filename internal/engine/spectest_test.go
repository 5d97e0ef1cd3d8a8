package engine

// The WebAssembly spec test suite (the v1 and v2 scripts that ship in the
// wazero module: wast2json output and .wasm files) run per engine kind, the
// kinds side by side:
//
//   - plain: original modules, Migratable false (v1 and v2);
//   - migratable: instrumented modules (v2; v1 on request). Every invocation,
//     start functions included, is asked to pause before it begins; each
//     safe point it stops at is a forced migration: Capture,
//     snapshot.Encode, snapshot.Decode, Runtime.Restore into a fresh wazero
//     runtime, Pause, Resume. The restored instance replaces the old one for
//     the rest of the script (memory, globals and dropped segments carry).
//
// Sampling (CI): an invocation migrates at each of its first 100 safe
// points; past that, one safe point in 101 (a prime) migrates and the others
// unwind and rewind in place (same instance, no snapshot), so every safe
// point still unwinds (the log gives how many invocations stop at how many
// safe points; a few loops over memory stop at 65536). assert_exhaustion migrates at its first 50 safe
// points and then runs free, in every mode: a recursion that only ends by
// exhausting the stack, unwound at each call, is quadratic in its depth.
// The every-point run (v1 and v2, no sampling but that one):
//
//	ROAM_SPEC_EVERY=1 ROAM_SPEC_MODES=migratable go test ./internal/engine -run 'TestSpec$' -timeout 6h -v
//
// Knobs: ROAM_SPEC_SUITES=v1,v2 (all modes), ROAM_SPEC_KINDS=compiler,interpreter,
// ROAM_SPEC_MODES=plain,migratable, ROAM_SPEC_FILES=regexp on script names,
// ROAM_SPEC_FULL=n and ROAM_SPEC_STRIDE=p (sampling), ROAM_SPEC_VERBOSE=1
// (per-script migration counts and time). A subset under the race detector:
//
//	ROAM_SPEC_SUITES=v2 ROAM_SPEC_FILES='^(fac|loop|call|linking|imports|start|data|elem)$' go test -race ./internal/engine -run 'TestSpec$'
//
// Linking between modules (register) is described in spectest_world_test.go;
// exclusions are in specExcluded below; refusals of the transform are
// checked against specKnownRefusals.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/roam-edge/roam/internal/wasi"
)

// specExcluded lists what this test does not check, with the reason. An
// entry applies to every script of the suite when file is "", to every line
// when line is 0, and to every command type when typ is "".
var specExcluded = []struct {
	suite, file string
	line        int
	typ         string
	text        bool // only commands whose module is in the text format (.wat)
	reason      string
}{
	// wazero runs the v1 scripts with CoreFeaturesV1; the engine always
	// enables CoreFeaturesV2, under which these v1 assertions no longer
	// hold (multi-value results, multiple tables, and bulk memory's
	// semantics: an out-of-bounds active segment traps at instantiation
	// after the segments before it were written, instead of failing to
	// link with nothing written). The v2 scripts check the V2 behaviour.
	{suite: "v1", file: "elem.wast", line: 143, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 152, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 161, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 170, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 178, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 186, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 195, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 203, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 212, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 220, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 229, reason: v1Semantics},
	{suite: "v1", file: "elem.wast", line: 237, reason: v1Semantics},
	{suite: "v1", file: "func.wast", line: 493, reason: v1Semantics},
	{suite: "v1", file: "func.wast", line: 497, reason: v1Semantics},
	{suite: "v1", file: "imports.wast", line: 318, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 207, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 228, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 236, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 248, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 342, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 345, reason: v1Semantics},
	{suite: "v1", file: "linking.wast", line: 354, reason: v1Semantics},
	{suite: "v1", file: "type.wast", line: 53, reason: v1Semantics},
	{suite: "v1", file: "type.wast", line: 57, reason: v1Semantics},
	{suite: "v1", file: "unreached-invalid.wast", line: 539, reason: v1Semantics},

	// As in wazero's runner: text-format modules need a .wast parser.
	{typ: "assert_malformed", text: true, reason: "text-format module (.wat): no text parser (wazero skips these too)"},
	{typ: "assert_invalid", text: true, reason: "text-format module (.wat): no text parser (wazero skips these too)"},
	{typ: "assert_unlinkable", text: true, reason: "text-format module (.wat): no text parser (wazero skips these too)"},
}

// specLinkGroups lists the scripts whose modules share a memory, a table or
// a global (or pass funcref or v128 values) across instances, which the
// planner puts in a link group: they run plain in the migratable run, their
// assertions counted as skipped (see spectest_world_test.go). A link group
// in any other script fails the test, so that this list stays true.
var specLinkGroups = map[string]string{
	"v1/elem.wast":         "module2 and module3 write module1's table through active segments",
	"v1/imports.wast":      "modules import the registered module's globals, table and memory",
	"v1/linking.wast":      "modules share Mg's globals, Mt's table, Mm's memory, including writes of failed instantiations",
	"v2/elem.wast":         "module2 and module3 write module1's table through active segments; one module imports exporter's externref table, another module4's funcref global",
	"v2/imports.wast":      "modules import the registered module's globals, table and memory",
	"v2/linking.wast":      "modules share Mg's globals, Mt's table, Mm's memory and Ms's memory and table, including writes of failed instantiations",
	"v2/memory_grow.wast":  "Mgim1 and Mgim2 import and grow grown-memory's memory",
	"v2/simd_linking.wast": "a module imports Mv128's mutable v128 global",
	"v2/table_grow.wast":   "Tgit1 and Tgit2 import and grow grown-table's table",
}

const v1Semantics = "v1 assertion that CoreFeaturesV2 (always on in the engine) changes; wazero runs v1 with CoreFeaturesV1"

// specExclusion returns why a command is excluded, or "".
func specExclusion(suite, file string, c *specCommand) string {
	for _, e := range specExcluded {
		if (e.suite == "" || e.suite == suite) && (e.file == "" || e.file == file) &&
			(e.line == 0 || e.line == c.Line) && (e.typ == "" || e.typ == c.Type) &&
			(!e.text || strings.HasSuffix(c.Filename, ".wat")) {
			return e.reason
		}
	}
	return ""
}

type specStats struct {
	files, modules, modulesFailed int
	passed, failed                int
	skipped                       map[string]int // reason -> assertions
	refused                       map[string]int // refusal -> modules
	invocations                   int
	migrations, inPlace           int
	sampled, exhaustionFreed      int
	maxPoints                     int
	hist, histPoints              [7]int
	maxWhere                      string
	rejectedByLoad, rejectedByWz  int // assert_invalid/malformed in the migratable run
	elapsed                       time.Duration
}

func newSpecStats() *specStats {
	return &specStats{skipped: map[string]int{}, refused: map[string]int{}}
}

func specEnvList(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

func specOpts() specOptions {
	o := specOptions{every: os.Getenv("ROAM_SPEC_EVERY") != "", fullPoints: 100, stride: 101, exhaustion: 50}
	if n, err := strconv.Atoi(os.Getenv("ROAM_SPEC_FULL")); err == nil && n >= 0 {
		o.fullPoints = n
	}
	if n, err := strconv.Atoi(os.Getenv("ROAM_SPEC_STRIDE")); err == nil && n > 0 {
		o.stride = n
	}
	return o
}

// worldHolder lets one engine Runtime serve the scripts one after another:
// Config.Setup asks the current script's world.
type worldHolder struct{ w *specWorld }

func TestSpec(t *testing.T) {
	if testing.Short() {
		t.Skip("spec suite: skipped in -short mode")
	}
	var filter *regexp.Regexp
	if f := os.Getenv("ROAM_SPEC_FILES"); f != "" {
		filter = regexp.MustCompile(f)
	}
	modes := specEnvList("ROAM_SPEC_MODES", "plain,migratable")
	for _, k := range specEnvList("ROAM_SPEC_KINDS", "compiler,interpreter") {
		kind, err := Kind(k).Resolve()
		if err != nil || kind != Kind(k) {
			t.Logf("engine %s not available here: skipped", k)
			continue
		}
		// The kinds run side by side: each has its own engine Runtime.
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			holder := &worldHolder{}
			rt, err := NewRuntime(Config{Kind: kind, CacheDir: t.TempDir(), NoCache: true,
				Setup: func(ctx context.Context, wz wazero.Runtime) error { return holder.w.setupRuntime(ctx, wz, false) }})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close(context.Background())
			for _, mode := range modes {
				t.Run(mode, func(t *testing.T) {
					st := newSpecStats()
					start := time.Now()
					for _, suite := range specSuites(mode) {
						for _, path := range specScripts(t, suite) {
							name := strings.TrimSuffix(filepath.Base(path), ".json")
							if filter != nil && !filter.MatchString(name) {
								continue
							}
							t.Run(suite+"/"+name, func(t *testing.T) {
								runSpecScript(t, rt, holder, mode == "migratable", suite, path, st)
							})
						}
					}
					st.elapsed = time.Since(start)
					logSpecStats(t, mode, kind, st)
				})
			}
		})
	}
}

// specSuites: v1 and v2 in the plain run; the migratable run does v2 only
// unless ROAM_SPEC_SUITES or ROAM_SPEC_EVERY asks for more (v1 mostly
// repeats v2 and would add about 50 s of CPU time).
func specSuites(mode string) []string {
	if os.Getenv("ROAM_SPEC_SUITES") == "" && os.Getenv("ROAM_SPEC_EVERY") == "" && mode == "migratable" {
		return []string{"v2"}
	}
	return specEnvList("ROAM_SPEC_SUITES", "v1,v2")
}

func logSpecStats(t *testing.T, mode string, kind Kind, st *specStats) {
	skipped := 0
	for _, n := range st.skipped {
		skipped += n
	}
	t.Logf("%s/%s: %d files, %d modules (%d failed to instantiate), assertions: %d passed, %d failed, %d skipped; %d invocations; %v",
		mode, kind, st.files, st.modules, st.modulesFailed, st.passed, st.failed, skipped, st.invocations, st.elapsed.Round(time.Millisecond))
	if mode == "migratable" {
		t.Logf("%s/%s: %d forced migrations, %d in-place rewinds, %d sampled invocations, %d exhaustion runs freed; most safe points in one invocation: %d (%s)",
			mode, kind, st.migrations, st.inPlace, st.sampled, st.exhaustionFreed, st.maxPoints, st.maxWhere)
		t.Logf("%s/%s: invocations by safe points stopped at (0, 1, 2-10, 11-100, 101-1000, 1001-10^4, more): %v, safe points: %v", mode, kind, st.hist, st.histPoints)
		t.Logf("%s/%s: invalid or malformed modules rejected by Load: %d, by wazero after Load: %d", mode, kind, st.rejectedByLoad, st.rejectedByWz)
	}
	for _, k := range sortedKeys(st.skipped) {
		t.Logf("  skipped %5d assertions: %s", st.skipped[k], k)
	}
	for _, k := range sortedKeys(st.refused) {
		t.Logf("  refused %5d modules: %s", st.refused[k], k)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Known refusals of the migratable mode (DESIGN section 9); any other
// refusal of a valid module is a failure. A refused module runs plain in the
// migratable run and the assertions on it count as skipped. In v2: modules
// that mutate tables (table.set/grow/fill/copy/init) in bulk, elem, ref_func,
// ref_is_null, table_copy, table_fill, table_get, table_grow, table_init,
// table_set and table_size; a mutable externref global in global.wast (and
// in linking.wast, whose modules are in a link group anyway). None in v1.
var specKnownRefusals = []string{
	"mutating a table",
	"mutable global",
	"reference-typed",
}

func refusalClass(feature string) string {
	for _, k := range specKnownRefusals {
		if strings.Contains(feature, k) {
			return k
		}
	}
	return ""
}

// specRun is one script being run.
type specRun struct {
	t     *testing.T
	w     *specWorld
	suite string
	file  string
	st    *specStats
}

func runSpecScript(t *testing.T, rt *Runtime, holder *worldHolder, migratable bool, suite, path string, st *specStats) {
	s, err := readSpecScript(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := newSpecWorld(ctx, rt, migratable, specOpts(), filepath.Dir(path), s, st)
	holder.w = w
	defer w.close()
	st.files++
	r := &specRun{t: t, w: w, suite: suite, file: filepath.Base(s.SourceFile), st: st}
	if r.file == "." || r.file == "" {
		r.file = filepath.Base(path)
	}
	if _, listed := specLinkGroups[suite+"/"+r.file]; listed != (len(w.plan.group) > 0) {
		t.Errorf("%s/%s: specLinkGroups lists it: %v; link-group commands: %d", suite, r.file, listed, len(w.plan.group))
	}
	m0, p0, t0 := st.migrations, st.inPlace, time.Now()
	for i := range s.Commands {
		r.command(i, &s.Commands[i])
	}
	if os.Getenv("ROAM_SPEC_VERBOSE") != "" {
		t.Logf("%s: %d migrations, %d in-place rewinds, %v", r.file, st.migrations-m0, st.inPlace-p0, time.Since(t0).Round(time.Millisecond))
	}
}

func (r *specRun) fail(c *specCommand, format string, args ...any) {
	r.st.failed++
	mode := "plain"
	if r.w.migratable {
		mode = "migratable"
	}
	r.t.Errorf("%s/%s:%d %s [%s, %s]: %s", r.suite, r.file, c.Line, c.Type, mode, r.w.rt.Kind(), fmt.Sprintf(format, args...))
}

// pass counts a passing assertion; in the migratable run, one on a module
// that ran plain counts as skipped, with the reason.
func (r *specRun) pass(si *specInst) {
	if r.w.migratable && si != nil && !si.migratable() {
		r.st.skipped[r.skipReason(si)]++
		return
	}
	r.st.passed++
}

func (r *specRun) skipReason(si *specInst) string {
	switch {
	case si.group:
		return "migratable run: module links memory/table/global of another instance (link group, ran plain)"
	case si.refused != "":
		return "migratable run: transform refused the module (" + refusalClass(si.refused) + "), ran plain"
	}
	return "migratable run: module ran plain"
}

func (r *specRun) target(c *specCommand) *specInst {
	if c.Action.Module != "" {
		return r.w.byName[c.Action.Module]
	}
	return r.w.last
}

func (r *specRun) command(i int, c *specCommand) {
	w := r.w
	defer func() {
		if p := recover(); p != nil {
			r.fail(c, "panic: %v\n%s", p, debug.Stack())
		}
	}()
	if reason := specExclusion(r.suite, r.file, c); reason != "" {
		r.st.skipped["excluded: "+reason]++
		return
	}
	switch c.Type {
	case "module":
		r.st.modules++
		si, err := w.instantiate(i, c)
		if err != nil {
			r.st.modulesFailed++
			r.fail(c, "instantiate %s: %v", c.Filename, err)
			w.last = nil
			if c.Name != "" {
				delete(w.byName, c.Name)
			}
			return
		}
		if si.refused != "" {
			class := refusalClass(si.refused)
			if class == "" {
				r.fail(c, "%s: the transform refused a valid module for an unexpected reason: %s", c.Filename, si.refused)
			}
			r.st.refused[class+": "+si.refused]++
		}
		w.last = si
		if c.Name != "" {
			w.byName[c.Name] = si
		}
	case "register":
		si := w.last
		if c.Name != "" {
			si = w.byName[c.Name]
		}
		if si == nil {
			r.fail(c, "register %q: no module", c.As)
			return
		}
		w.registered[c.As] = si
	case "assert_return", "action":
		r.invokeOrGet(c)
	case "assert_trap", "assert_exhaustion":
		r.trap(c)
	case "assert_invalid", "assert_malformed":
		r.mustNotLoad(c)
	case "assert_unlinkable", "assert_uninstantiable":
		r.mustNotInstantiate(i, c)
	default:
		r.fail(c, "unknown command type")
	}
}

func (r *specRun) invokeOrGet(c *specCommand) {
	si := r.target(c)
	if si == nil {
		r.fail(c, "%s %q: no module instance (an earlier failure)", c.Action.Type, c.Action.Field)
		return
	}
	var got []uint64
	switch c.Action.Type {
	case "invoke":
		args, err := specArgs(c.Action.Args)
		if err != nil {
			r.fail(c, "bad arguments: %v", err)
			return
		}
		got, err = r.w.invoke(r.w.ctx, si, c.Action.Field, args, false)
		if err != nil {
			r.fail(c, "invoke %s(%s): unexpected error: %v", c.Action.Field, formatSpecValues(c.Action.Args), err)
			return
		}
	case "get":
		g := si.in.inst.ExportedGlobal(c.Action.Field)
		if g == nil {
			r.fail(c, "no global %q", c.Action.Field)
			return
		}
		got = []uint64{g.Get()}
		if len(c.Expected) == 1 && c.Expected[0].Type == "v128" {
			// api.Global reads the low half only, as in wazero's runner.
			if w, err := c.Expected[0].words(); err == nil && w[0] == got[0] {
				r.pass(si)
				return
			}
		}
	default:
		r.fail(c, "unknown action %q", c.Action.Type)
		return
	}
	if c.Type == "action" {
		r.pass(si)
		return
	}
	ok, err := specResultsMatch(got, c.Expected)
	switch {
	case err != nil:
		r.fail(c, "%s(%s): bad expectation: %v", c.Action.Field, formatSpecValues(c.Action.Args), err)
	case !ok:
		r.fail(c, "%s(%s): expected %s, got %s", c.Action.Field, formatSpecValues(c.Action.Args), formatSpecValues(c.Expected), formatWords(got, c.Expected))
	default:
		r.pass(si)
	}
}

func (r *specRun) trap(c *specCommand) {
	si := r.target(c)
	if si == nil {
		r.fail(c, "invoke %q: no module instance (an earlier failure)", c.Action.Field)
		return
	}
	if c.Action.Type != "invoke" {
		r.fail(c, "unknown action %q", c.Action.Type)
		return
	}
	args, err := specArgs(c.Action.Args)
	if err != nil {
		r.fail(c, "bad arguments: %v", err)
		return
	}
	got, err := r.w.invoke(r.w.ctx, si, c.Action.Field, args, c.Type == "assert_exhaustion")
	var trap *TrapError
	switch {
	case err == nil:
		r.fail(c, "%s(%s): expected trap %q, got results %v", c.Action.Field, formatSpecValues(c.Action.Args), c.Text, got)
	case !errors.As(err, &trap):
		r.fail(c, "%s(%s): expected trap %q, got a non-trap error: %v", c.Action.Field, formatSpecValues(c.Action.Args), c.Text, err)
	case specTrapMessages[c.Text] != "" && !strings.Contains(err.Error(), specTrapMessages[c.Text]):
		r.fail(c, "%s(%s): expected trap %q (%q), got: %v", c.Action.Field, formatSpecValues(c.Action.Args), c.Text, specTrapMessages[c.Text], firstLine(err))
	default:
		r.pass(si)
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// mustNotLoad: an invalid or malformed module must be refused, by Load (our
// decoder and transform, in the migratable run) or by wazero.
func (r *specRun) mustNotLoad(c *specCommand) {
	w := r.w
	b, err := os.ReadFile(filepath.Join(w.dir, c.Filename))
	if err != nil {
		r.fail(c, "%v", err)
		return
	}
	m, err := specLoad(w.rt, c.Filename, b, w.migratable)
	var p *specPanic
	if errors.As(err, &p) {
		r.fail(c, "%s (%s): %v", c.Filename, c.Text, err)
		return
	}
	if err != nil {
		r.st.rejectedByLoad++
		r.st.passed++
		return
	}
	in, err := w.rt.Start(w.ctx, m, wasi.Config{})
	if err == nil {
		in.Close(w.ctx)
		r.fail(c, "%s: module was accepted (%s)", c.Filename, c.Text)
		return
	}
	if w.migratable {
		r.st.rejectedByWz++
		r.t.Logf("note: %s/%s:%d %s: Load accepted %s (%s); wazero rejected it: %v", r.suite, r.file, c.Line, c.Type, c.Filename, c.Text, firstLine(err))
	}
	r.st.passed++
}

// mustNotInstantiate: linking or instantiation must fail, except that wazero
// keeps a module whose active element segment is out of bounds (as its
// runner expects: the spec's v2 semantics leave earlier segments applied).
func (r *specRun) mustNotInstantiate(i int, c *specCommand) {
	si, err := r.w.instantiate(i, c)
	if c.Type == "assert_uninstantiable" && c.Text == "out of bounds table access" {
		if err != nil {
			r.fail(c, "%s: wazero instantiates it, got: %v", c.Filename, err)
			return
		}
		r.pass(si)
		return
	}
	var le *specLoadError
	switch {
	case err == nil:
		r.fail(c, "%s: instantiated, expected %q", c.Filename, c.Text)
		return
	case errors.As(err, &le):
		r.fail(c, "%s: Load refused a valid module (expected %q at link or instantiation time): %v", c.Filename, c.Text, err)
		return
	}
	r.pass(&specInst{group: r.w.plan.group[i], mod: &Module{Migratable: r.w.migratable}})
}
