// Package engine runs WebAssembly modules on wazero and makes them
// migratable: an instance can be asked to pause (it stops at the next safe
// point), captured into a portable snapshot, restored from one and resumed,
// on the compiler or the interpreter. A non-migratable mode runs the module
// untouched.
//
// It must not depend on HTTP or orchestration code; snapshots and the WASI
// host hold no wazero types.
package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/roam-edge/roam/internal/wasi"
)

// Kind selects how wazero executes code.
type Kind string

const (
	Auto        Kind = ""
	Compiler    Kind = "compiler"
	Interpreter Kind = "interpreter"
)

// ParseKind parses the --engine flag.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Auto, "auto":
		return Auto, nil
	case Compiler, Interpreter:
		return Kind(s), nil
	}
	return Auto, fmt.Errorf("unknown engine %q (want compiler or interpreter)", s)
}

// compilerSupported mirrors wazero: its optimizing compiler targets amd64 and arm64.
func compilerSupported() bool { return runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" }

// Resolve turns Auto into what this machine runs.
func (k Kind) Resolve() (Kind, error) {
	switch {
	case k == Auto && compilerSupported():
		return Compiler, nil
	case k == Auto:
		return Interpreter, nil
	case k == Compiler && !compilerSupported():
		return "", fmt.Errorf("the compiler engine is not available on %s; use --engine interpreter", runtime.GOARCH)
	}
	return k, nil
}

// Config configures a Runtime.
type Config struct {
	Kind Kind
	// CacheDir holds the module store, instrumented modules and compiled
	// code; empty means DefaultCacheDir().
	CacheDir string
	// NoCache keeps compiled code in memory only.
	NoCache bool
	// CloseOnCancel makes compiled code check, at loop headers and calls,
	// whether the context of Run ended (wazero's WithCloseOnContextDone), so
	// that cancelling it stops even a module that cannot pause. It costs a
	// little speed; only the node agent's non-migratable instances use it.
	CloseOnCancel bool
	// Setup, when set, runs on every new wazero runtime before the module is
	// instantiated, to add host modules (the spec test suite's "spectest").
	Setup func(ctx context.Context, wz wazero.Runtime) error
	// Volumes, on a node, are the directories restored instances' preopens
	// resolve against by name (wasi.Config.Volumes); nil: host paths.
	Volumes *wasi.Volumes
}

// DefaultCacheDir is $ROAM_CACHE_DIR, else the user cache directory's roam folder.
func DefaultCacheDir() string {
	if d := os.Getenv("ROAM_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "roam")
	}
	return filepath.Join(os.TempDir(), "roam-cache")
}

// Runtime compiles and runs modules with one wazero engine kind.
type Runtime struct {
	kind     Kind
	cacheDir string
	cache    wazero.CompilationCache
	store    *Store
	setup    func(ctx context.Context, wz wazero.Runtime) error
	cancel   bool
	volumes  *wasi.Volumes
	memLimit uint32 // pages; 0: wazero's default (4 GiB)
}

// NewRuntime prepares the caches. It does not start wazero yet: each
// instance gets its own wazero runtime sharing the compilation cache, so a
// restore always starts fresh.
func NewRuntime(cfg Config) (*Runtime, error) {
	kind, err := cfg.Kind.Resolve()
	if err != nil {
		return nil, err
	}
	dir := cfg.CacheDir
	if dir == "" {
		dir = DefaultCacheDir()
	}
	r := &Runtime{kind: kind, cacheDir: dir, store: &Store{Dir: filepath.Join(dir, "modules")}, setup: cfg.Setup, cancel: cfg.CloseOnCancel, volumes: cfg.Volumes}
	if cfg.NoCache {
		r.cache = wazero.NewCompilationCache()
	} else if r.cache, err = wazero.NewCompilationCacheWithDir(filepath.Join(dir, "compiled")); err != nil {
		r.cache = wazero.NewCompilationCache()
	}
	return r, nil
}

// WithMemoryLimit returns a runtime like r (same caches and store) whose
// instances' memories cannot grow past pages: memory.grow beyond it
// returns -1, and a module whose initial memory is larger fails to
// instantiate. Close only r, not the copy.
func (r *Runtime) WithMemoryLimit(pages uint32) *Runtime {
	c := *r
	c.memLimit = min(pages, MaxMemoryPages)
	return &c
}

// MaxMemoryPages is the largest memory limit: 4 GiB, all a 32-bit memory can address.
const MaxMemoryPages = 65536

// Kind is the engine kind this runtime uses.
func (r *Runtime) Kind() Kind { return r.kind }

// Store is the module store of this runtime.
func (r *Runtime) Store() *Store { return r.store }

// Close releases the compilation cache.
func (r *Runtime) Close(ctx context.Context) error { return r.cache.Close(ctx) }

func (r *Runtime) wazeroConfig() wazero.RuntimeConfig {
	var c wazero.RuntimeConfig
	if r.kind == Interpreter {
		c = wazero.NewRuntimeConfigInterpreter()
	} else {
		c = wazero.NewRuntimeConfigCompiler()
	}
	c = c.WithCompilationCache(r.cache).WithCoreFeatures(api.CoreFeaturesV2).WithCustomSections(true).
		WithCloseOnContextDone(r.cancel)
	if r.memLimit > 0 {
		c = c.WithMemoryLimitPages(r.memLimit)
	}
	return c
}
