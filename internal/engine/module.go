package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/roam-edge/roam/internal/atomicfile"
	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasi"
	"github.com/roam-edge/roam/internal/wasm"
)

// Digest is the sha256 of a module's original bytes.
type Digest [32]byte

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Module is a module ready to instantiate: the original bytes, and when
// migratable, the instrumented bytes for this runtime's engine kind.
type Module struct {
	Name       string // as the user gave it
	Digest     Digest
	Migratable bool
	original   []byte
	code       []byte // what wazero compiles

	namesOnce sync.Once
	names     map[uint32]string
	nGlobals  uint32
	gTypes    []wasm.ValType // type of each global, imports first
	minMemory uint64         // initial pages of memory 0
}

// Load prepares a module. With migratable set it instruments the module,
// reusing an earlier instrumentation from the cache directory when there is
// one; a refused feature comes back as a *transform.Error.
func (r *Runtime) Load(name string, b []byte, migratable bool) (*Module, error) {
	m := &Module{Name: name, Digest: sha256.Sum256(b), Migratable: migratable, original: b, code: wasm.StripBadNames(b)}
	if !migratable {
		return m, nil
	}
	code, err := r.instrumented(m)
	if err != nil {
		return nil, err
	}
	m.code = code
	return m, nil
}

func (r *Runtime) instrumentedPath(d Digest) string {
	return filepath.Join(r.cacheDir, "instrumented",
		fmt.Sprintf("%s-t%d-%s-%s.wasm", d, transform.Version, buildFingerprint, r.kind))
}

// buildFingerprint tells builds of roam apart, so that a rebuilt transform
// never reuses another build's instrumented modules: the executable's size
// and modification time, which cost one stat to read.
var buildFingerprint = func() string {
	exe, err := os.Executable()
	if err != nil {
		return "x"
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "x"
	}
	return fmt.Sprintf("%x%x", fi.Size(), fi.ModTime().UnixNano())
}()

func (r *Runtime) instrumented(m *Module) ([]byte, error) {
	path := r.instrumentedPath(m.Digest)
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	}
	b, err := Instrument(m.original, r.kind == Interpreter)
	if err != nil {
		return nil, err
	}
	_ = writeFileAtomic(path, b) // a cache: failing to write it only costs time
	return b, nil
}

// Instrument decodes and instruments a module for the given poll variant.
func Instrument(b []byte, pollImport bool) ([]byte, error) {
	mod, err := wasm.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode module: %w", err)
	}
	// The transform assumes a valid module, and its output could be valid
	// where the input was not (an unknown global index becoming the state
	// global, a start function with parameters becoming an export).
	if err := mod.Validate(); err != nil {
		return nil, fmt.Errorf("invalid module: %w", err)
	}
	out, err := transform.Instrument(mod, transform.Options{PollImport: pollImport, Blocking: isBlocking})
	if err != nil {
		return nil, err
	}
	return wasm.Encode(out), nil
}

var blockingNames = func() map[string]bool {
	out := map[string]bool{}
	for _, f := range wasiSignatures() {
		if f.Blocking {
			out[f.Name] = true
		}
	}
	return out
}()

func isBlocking(module, name string) bool {
	return module == wasi.ModuleName && blockingNames[name]
}

// FuncName names function idx (original index space) for people.
func (m *Module) FuncName(idx uint32) string {
	m.loadNames()
	if n, ok := m.names[idx]; ok {
		return n
	}
	return fmt.Sprintf("func[%d]", idx)
}

func (m *Module) loadNames() {
	m.namesOnce.Do(func() {
		if mod, err := wasm.Decode(m.original); err == nil {
			m.names = mod.FuncNames()
			m.nGlobals = uint32(mod.NumImported(wasm.ExternGlobal) + len(mod.Globals))
			for _, im := range mod.Imports {
				if im.Kind == wasm.ExternMemory {
					m.minMemory = im.Memory.Min
				}
			}
			if len(mod.Memories) > 0 {
				m.minMemory = mod.Memories[0].Min
			}
			for g := uint32(0); g < m.nGlobals; g++ {
				gt, _ := mod.GlobalTypeOf(g)
				m.gTypes = append(m.gTypes, gt.Type)
			}
		}
	})
}

// MinMemoryPages is the size of the module's memory when it starts, in
// 64 KiB pages (0 without a memory).
func (m *Module) MinMemoryPages() uint64 {
	m.loadNames()
	return m.minMemory
}

// numGlobals counts the original module's globals.
func (m *Module) numGlobals() uint32 {
	m.loadNames()
	return m.nGlobals
}

// Store keeps modules by digest so a snapshot can find its module.
type Store struct{ Dir string }

func (s *Store) path(d Digest) string { return filepath.Join(s.Dir, d.String()+".wasm") }

// Has reports whether the store holds the module with digest d.
func (s *Store) Has(d Digest) bool {
	_, err := os.Stat(s.path(d))
	return err == nil
}

// Put stores b under its digest.
func (s *Store) Put(b []byte) (Digest, error) {
	d := Digest(sha256.Sum256(b))
	if s.Has(d) {
		return d, nil
	}
	return d, writeFileAtomic(s.path(d), b)
}

// ErrModuleNotFound means the store has no module with that digest.
var ErrModuleNotFound = errors.New("module not in the local store")

// Get returns the module with digest d.
func (s *Store) Get(d Digest) ([]byte, error) {
	b, err := os.ReadFile(s.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (pass --module FILE)", ErrModuleNotFound, d)
	}
	return b, err
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// Compile compiles m ahead of its first instance, into the compilation
// cache: a migration destination does it while the source still runs.
func (r *Runtime) Compile(ctx context.Context, m *Module) error {
	wz := wazero.NewRuntimeWithConfig(ctx, r.wazeroConfig())
	defer wz.Close(ctx)
	_, err := compile(ctx, wz, m)
	return err
}

// compile compiles m's code on wz. wazero v1.12.0's validator panics on some
// invalid modules (an out-of-range type index in a function body, found by
// FuzzInstrument); such a module gets an error like any other invalid one.
func compile(ctx context.Context, wz wazero.Runtime, m *Module) (c wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("compile %s: invalid module (wazero: %v)", m.Name, r)
		}
	}()
	if c, err = wz.CompileModule(ctx, m.code); err != nil {
		return nil, fmt.Errorf("compile %s: %w", m.Name, err)
	}
	return c, nil
}
