package engine

// The world of one spec script: its module instances, the "spectest" host
// module, registered modules and how modules link to them, and invocations
// with forced migrations.
//
// Linking. The engine gives every instance a wazero runtime of its own (a
// restore always starts fresh, and the "roam" host module serves one
// instance). Modules that import from a registered module are linked in one
// of two ways, decided for the whole script before it runs (planSpecScript):
//
//   - Function imports go through a proxy: a host module named as the
//     registration, in the importer's runtime, whose functions invoke the
//     registered module's current instance (with forced migrations too, when
//     that instance is migratable). The callee's state lives in exactly one
//     instance, wherever it was last restored, so this is sound.
//   - Memories, tables and globals cannot cross wazero runtimes, and funcref
//     or v128 signatures cannot go through a Go host function. The exporter
//     and every module importing such an extern from it form a link group:
//     they are instantiated together in one shared wazero runtime for the
//     script, uninstrumented, exactly as wazero's own runner does. In the
//     migratable run their assertions still execute (so later commands see
//     the right state) but count as skipped, with this reason: a snapshot
//     holds one instance, and the engine has no way to move a group.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasi"
	"github.com/roam-edge/roam/internal/wasm"
)

// specHostWasm is the "spectest" module of the spec interpreter: print
// functions that do nothing, four immutable globals, a table and a memory.
var specHostWasm = func() []byte {
	m := &wasm.Module{}
	sigs := [][]wasm.ValType{nil, {wasm.I32}, {wasm.I64}, {wasm.F32}, {wasm.F64}, {wasm.I32, wasm.F32}, {wasm.F64, wasm.F64}}
	names := []string{"print", "print_i32", "print_i64", "print_f32", "print_f64", "print_i32_f32", "print_f64_f64"}
	for i, p := range sigs {
		m.Types = append(m.Types, wasm.FuncType{Params: p})
		m.Funcs = append(m.Funcs, wasm.Func{TypeIdx: uint32(i), Body: []wasm.Instr{{Op: wasm.OpEnd}}})
		m.Exports = append(m.Exports, wasm.Export{Name: names[i], Kind: wasm.ExternFunc, Index: uint32(i)})
	}
	m.Tables = []wasm.TableType{{Elem: wasm.FuncRef, Limits: wasm.Limits{Min: 10, Max: 20, HasMax: true}}}
	m.Memories = []wasm.Limits{{Min: 1, Max: 2, HasMax: true}}
	globals := []struct {
		name string
		t    wasm.ValType
		op   wasm.Opcode
		imm  uint64
	}{
		{"global_i32", wasm.I32, wasm.OpI32Const, 666},
		{"global_i64", wasm.I64, wasm.OpI64Const, 666},
		{"global_f32", wasm.F32, wasm.OpF32Const, uint64(math.Float32bits(666.6))},
		{"global_f64", wasm.F64, wasm.OpF64Const, math.Float64bits(666.6)},
	}
	for i, g := range globals {
		m.Globals = append(m.Globals, wasm.Global{Type: wasm.GlobalType{Type: g.t}, Init: []wasm.Instr{{Op: g.op, Imm: g.imm}, {Op: wasm.OpEnd}}})
		m.Exports = append(m.Exports, wasm.Export{Name: g.name, Kind: wasm.ExternGlobal, Index: uint32(i)})
	}
	m.Exports = append(m.Exports, wasm.Export{Name: "table", Kind: wasm.ExternTable}, wasm.Export{Name: "memory", Kind: wasm.ExternMemory})
	return wasm.Encode(m)
}()

// specPlan is what a script needs before it runs: which module commands
// belong to the link group, and the name each module is registered as.
type specPlan struct {
	group   map[int]bool
	regName map[int]string
	imports map[int][]string // module names each command imports from
}

func planSpecScript(dir string, s *specScript) *specPlan {
	p := &specPlan{group: map[int]bool{}, regName: map[int]string{}, imports: map[int][]string{}}
	lastModule := -1
	named := map[string]int{}
	for i, c := range s.Commands {
		switch c.Type {
		case "module":
			lastModule = i
			if c.Name != "" {
				named[c.Name] = i
			}
		case "register":
			target := lastModule
			if c.Name != "" {
				target = named[c.Name]
			}
			if _, ok := p.regName[target]; !ok && target >= 0 {
				p.regName[target] = c.As
			}
		}
	}
	owner := map[string]int{} // registered name -> module command, as the script goes
	for i, c := range s.Commands {
		switch c.Type {
		case "module", "assert_unlinkable", "assert_uninstantiable":
		default:
			continue
		}
		if !strings.HasSuffix(c.Filename, ".wasm") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, c.Filename))
		if err != nil {
			continue
		}
		m, err := wasm.Decode(b)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, im := range m.Imports {
			if im.Module == "spectest" {
				continue
			}
			if !seen[im.Module] {
				seen[im.Module] = true
				p.imports[i] = append(p.imports[i], im.Module)
			}
			o, ok := owner[im.Module]
			if !ok {
				continue
			}
			proxyable := im.Kind == wasm.ExternFunc && int(im.TypeIdx) < len(m.Types) && proxyableSig(m.Types[im.TypeIdx])
			if !proxyable {
				p.group[o], p.group[i] = true, true
			}
		}
		if c.Type == "module" {
			if name, ok := p.regName[i]; ok {
				owner[name] = i
			}
		}
	}
	return p
}

func proxyableSig(sig wasm.FuncType) bool {
	for _, ts := range [][]wasm.ValType{sig.Params, sig.Results} {
		for _, t := range ts {
			switch t {
			case wasm.I32, wasm.I64, wasm.F32, wasm.F64, wasm.ExternRef:
			default:
				return false
			}
		}
	}
	return true
}

// specInst is one module instance of a script. Its Instance changes at
// every forced migration; every name that refers to it sees the new one.
type specInst struct {
	name    string // the script's $name, if any
	file    string
	mod     *Module
	in      *Instance
	group   bool   // lives in the script's shared runtime, uninstrumented
	refused string // migratable run: why the transform refused it
}

// migratable says whether invocations of this instance migrate.
func (si *specInst) migratable() bool { return si.mod.Migratable && !si.group }

// specOptions select how forced migrations are sampled.
type specOptions struct {
	every      bool // migrate at every safe point, however many
	fullPoints int  // safe points of an invocation that all migrate
	stride     int  // after fullPoints: one in stride migrates, the others rewind in place
	exhaustion int  // assert_exhaustion: safe points that migrate before running free
}

type specWorld struct {
	ctx        context.Context
	rt         *Runtime
	migratable bool
	opts       specOptions
	dir        string
	plan       *specPlan
	stats      *specStats

	byName     map[string]*specInst
	last       *specInst
	registered map[string]*specInst
	group      wazero.Runtime
	all        []*specInst
}

func newSpecWorld(ctx context.Context, rt *Runtime, migratable bool, opts specOptions, dir string, s *specScript, st *specStats) *specWorld {
	return &specWorld{
		ctx: ctx, rt: rt, migratable: migratable, opts: opts, dir: dir, plan: planSpecScript(dir, s), stats: st,
		byName: map[string]*specInst{}, registered: map[string]*specInst{},
	}
}

// close frees every instance and the shared runtime.
func (w *specWorld) close() {
	for _, si := range w.all {
		if !si.group && si.in != nil {
			si.in.Close(w.ctx)
		}
	}
	if w.group != nil {
		w.group.Close(w.ctx)
	}
}

// setupRuntime is the engine's Config.Setup for this world: the spectest
// module and proxies of the registered modules (in the shared runtime, only
// of those that live elsewhere).
func (w *specWorld) setupRuntime(ctx context.Context, wz wazero.Runtime, shared bool) error {
	if _, err := wz.InstantiateWithConfig(ctx, specHostWasm, wazero.NewModuleConfig().WithName("spectest")); err != nil {
		return fmt.Errorf("instantiate spectest: %w", err)
	}
	names := make([]string, 0, len(w.registered))
	for n := range w.registered {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if shared && w.registered[n].group {
			continue
		}
		if err := w.addProxy(ctx, wz, n); err != nil {
			return err
		}
	}
	return nil
}

// addProxy instantiates, in wz, a host module named as a registration whose
// functions invoke the registered instance's exports.
func (w *specWorld) addProxy(ctx context.Context, wz wazero.Runtime, name string) error {
	if wz.Module(name) != nil {
		return nil
	}
	si := w.registered[name]
	defs := si.in.inst.ExportedFunctionDefinitions()
	fields := make([]string, 0, len(defs))
	for f := range defs {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	b := wz.NewHostModuleBuilder(name)
	for _, field := range fields {
		d := defs[field]
		if strings.HasPrefix(field, "roam.") || !proxyableAPI(d.ParamTypes()) || !proxyableAPI(d.ResultTypes()) {
			continue
		}
		field, np := field, len(d.ParamTypes())
		fn := func(ctx context.Context, _ api.Module, stack []uint64) {
			res, err := w.invoke(ctx, w.registered[name], field, append([]uint64(nil), stack[:np]...), false)
			if err != nil {
				panic(err)
			}
			copy(stack, res)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(fn), d.ParamTypes(), d.ResultTypes()).Export(field)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func proxyableAPI(ts []api.ValueType) bool {
	for _, t := range ts {
		switch t {
		case api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF32, api.ValueTypeF64, api.ValueTypeExternref:
		default:
			return false
		}
	}
	return true
}

// load prepares a module for this run. In the migratable run a refusal by
// the transform must be a *transform.Error; the module then runs plain.
func (w *specWorld) load(name string, b []byte, group bool) (m *Module, refused string, err error) {
	if !w.migratable || group {
		m, err = w.rt.Load(name, b, false)
		return m, "", err
	}
	m, err = specLoad(w.rt, name, b, true)
	if err == nil {
		return m, "", nil
	}
	var te *transform.Error
	if !errors.As(err, &te) {
		return nil, "", fmt.Errorf("load: %w", err)
	}
	if te.Feature == "" {
		return nil, "", fmt.Errorf("load: refusal without a feature: %v", err)
	}
	m, err = w.rt.Load(name, b, false)
	return m, te.Feature, err
}

// instantiate runs module command i: loads, instantiates (in the shared
// runtime for link-group members) and runs the start function, which the
// transform turned into an export and which migrates like any invocation.
func (w *specWorld) instantiate(i int, c *specCommand) (*specInst, error) {
	b, err := os.ReadFile(filepath.Join(w.dir, c.Filename))
	if err != nil {
		return nil, err
	}
	si := &specInst{name: c.Name, file: c.Filename, group: w.plan.group[i]}
	si.mod, si.refused, err = w.load(c.Filename, b, si.group)
	if err != nil {
		return nil, &specLoadError{err}
	}
	if si.group {
		si.in, err = w.startInGroup(si.mod, w.plan.regName[i], w.plan.imports[i])
		if err != nil {
			return nil, err
		}
		w.all = append(w.all, si)
		return si, nil
	}
	if si.in, err = w.rt.Start(w.ctx, si.mod, wasi.Config{}); err != nil {
		return nil, err
	}
	defer func() {
		if si.in != nil && !slicesContains(w.all, si) {
			si.in.Close(w.ctx)
		}
	}()
	if si.mod.Migratable && si.in.inst.ExportedFunction(transform.ExportStart) != nil {
		if _, err := w.invoke(w.ctx, si, transform.ExportStart, nil, false); err != nil {
			return nil, fmt.Errorf("start function: %w", err)
		}
	}
	w.all = append(w.all, si)
	return si, nil
}

// specLoad is Runtime.Load with a panic turned into an error that says so.
func specLoad(rt *Runtime, name string, b []byte, migratable bool) (m *Module, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &specPanic{fmt.Sprintf("Load panicked: %v", r)}
		}
	}()
	return rt.Load(name, b, migratable)
}

type specPanic struct{ msg string }

func (e *specPanic) Error() string { return e.msg }

// specLoadError is a module that Load would not prepare.
type specLoadError struct{ err error }

func (e *specLoadError) Error() string { return e.err.Error() }
func (e *specLoadError) Unwrap() error { return e.err }

// startInGroup instantiates a plain module in the script's shared runtime,
// under its registered name, as an Instance of the engine.
func (w *specWorld) startInGroup(m *Module, name string, imports []string) (*Instance, error) {
	ctx := w.ctx
	if w.group == nil {
		w.group = wazero.NewRuntimeWithConfig(ctx, w.rt.wazeroConfig())
		if err := w.setupRuntime(ctx, w.group, true); err != nil {
			return nil, err
		}
	}
	for _, n := range imports {
		if si, ok := w.registered[n]; ok && !si.group {
			if err := w.addProxy(ctx, w.group, n); err != nil {
				return nil, err
			}
		}
	}
	h, err := wasi.New(wasi.Config{})
	if err != nil {
		return nil, err
	}
	in := &Instance{rt: w.rt, mod: m, wasi: h, wz: w.group}
	compiled, err := w.group.CompileModule(ctx, m.code)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", m.Name, err)
	}
	in.inst, err = w.group.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(name).WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("instantiate %s: %w", m.Name, err)
	}
	return in, nil
}

// invoke calls an export. In the migratable run it first asks the instance
// to pause, so that it stops at its first safe point; the request stays set,
// so after each restore the next safe point stops again. Each stop is a
// forced migration: capture, encode, decode, restore into a fresh runtime,
// resume. Past opts.fullPoints, one stop in opts.stride migrates and the
// others rewind in place (unless opts.every).
func (w *specWorld) invoke(ctx context.Context, si *specInst, field string, args []uint64, exhaustion bool) ([]uint64, error) {
	w.stats.invocations++
	if !w.migratable || !si.migratable() {
		return si.in.Call(ctx, field, args...)
	}
	in := si.in
	in.Pause()
	res, err := in.Call(ctx, field, args...)
	points := 0
	for errors.Is(err, ErrPaused) {
		points++
		switch {
		case exhaustion && points > w.opts.exhaustion:
			// Unwinding and rewinding a recursion that only ends by exhausting
			// the stack is quadratic in its depth: let it run free.
			if err := in.Continue(); err != nil {
				return nil, err
			}
			w.stats.exhaustionFreed++
		case w.opts.every || points <= w.opts.fullPoints || points%w.opts.stride == 0:
			if in, err = w.migrate(ctx, si); err != nil {
				return nil, fmt.Errorf("forced migration at safe point %d of %s: %w", points, field, err)
			}
		default:
			in.specRewindInPlace()
			w.stats.inPlace++
		}
		res, err = in.Resume(ctx)
	}
	w.stats.hist[pointsBucket(points)]++
	w.stats.histPoints[pointsBucket(points)] += points
	if points > w.stats.maxPoints {
		w.stats.maxPoints, w.stats.maxWhere = points, si.file+" "+field
	}
	if !w.opts.every && points > w.opts.fullPoints {
		w.stats.sampled++
	}
	return res, err
}

// migrate moves a paused instance into a fresh wazero runtime through the
// snapshot format (or, every other time, a staged instance fed a delta, as
// live migration does), and asks it to pause again.
func (w *specWorld) migrate(ctx context.Context, si *specInst) (*Instance, error) {
	old := si.in
	move := migrateOnce
	if w.stats.migrations%2 == 1 {
		move = migrateStaged // half the moves take the live-migration path
	}
	in, err := move(ctx, w.rt, si.mod, old)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	old.Close(ctx)
	si.in = in
	in.Pause()
	w.stats.migrations++
	return in, nil
}

// specRewindInPlace makes Resume rewind the frames just unwound into the
// same instance, without a snapshot, keeping the pause request (unlike
// Continue) so that the next safe point stops again.
func (in *Instance) specRewindInPlace() {
	in.wasi.ResumeClock()
	in.rewind, in.frames, in.rewinding = in.frames, nil, true
}

func slicesContains(s []*specInst, x *specInst) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// pointsBucket groups invocations by how many safe points they stopped at:
// 0, 1, 2-10, 11-100, 101-1000, 1001-10^4, more.
func pointsBucket(n int) int {
	switch {
	case n <= 1:
		return n
	case n <= 10:
		return 2
	case n <= 100:
		return 3
	case n <= 1000:
		return 4
	case n <= 10000:
		return 5
	}
	return 6
}
