package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

// TooLargeError: a module over the store's size limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("module is over the limit of %d bytes", e.Limit)
}

// DigestMismatchError: a module whose bytes do not have the digest expected.
type DigestMismatchError struct{ Want, Got Digest }

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("module has digest %s, want %s", e.Got, e.Want)
}

// PutStream stores the module r holds, read to its end, without holding it
// in memory: the bytes go to a temporary file in the store, hashed on the
// way, and the file is renamed to the digest. More than limit bytes fail
// with a *TooLargeError; with want set, another digest fails with a
// *DigestMismatchError. A module already held is kept, and its
// modification time says it was put again (module garbage collection
// counts its grace period from there).
func (s *Store) PutStream(r io.Reader, limit int64, want *Digest) (d Digest, size int64, err error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return d, 0, err
	}
	f, err := os.CreateTemp(s.Dir, ".upload-*")
	if err != nil {
		return d, 0, err
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return d, size, err
	case size > limit:
		return d, size, &TooLargeError{Limit: limit}
	}
	h.Sum(d[:0])
	if want != nil && *want != d {
		return d, size, &DigestMismatchError{Want: *want, Got: d}
	}
	if s.Has(d) {
		now := time.Now()
		return d, size, os.Chtimes(s.path(d), now, now)
	}
	if err := f.Sync(); err != nil {
		return d, size, err
	}
	if err := f.Close(); err != nil {
		return d, size, err
	}
	if err := os.Rename(f.Name(), s.path(d)); err != nil {
		return d, size, err
	}
	f = nil
	return d, size, nil
}

// Open opens the module with digest d for reading.
func (s *Store) Open(d Digest) (*os.File, error) {
	f, err := os.Open(s.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrModuleNotFound, d)
	}
	return f, err
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
//
// The files wazero adds to the compilation cache meanwhile are listed in
// the module's index, for Forget. (wazero names them by a hash of the code
// and of CPU features it does not export.) A module compiled at the same
// time may have its files listed too: forgetting them only costs it a
// compile.
func (r *Runtime) Compile(ctx context.Context, m *Module) error {
	before := r.compiledFiles()
	wz := wazero.NewRuntimeWithConfig(ctx, r.wazeroConfig())
	defer wz.Close(ctx)
	if _, err := compile(ctx, wz, m); err != nil {
		return err
	}
	var added []byte
	for f := range r.compiledFiles() {
		if !before[f] {
			added = append(added, f+"\n"...)
		}
	}
	if len(added) > 0 {
		_ = appendFile(r.compiledIndex(m.Digest), added) // a cache index: losing it only leaks a file
	}
	return nil
}

func (r *Runtime) compiledIndex(d Digest) string {
	return filepath.Join(r.cacheDir, "instrumented", d.String()+".compiled")
}

// compiledFiles lists the compilation cache's files, relative to it.
func (r *Runtime) compiledFiles() map[string]bool {
	out := map[string]bool{}
	root := filepath.Join(r.cacheDir, "compiled")
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(root, d.Name()))
		for _, f := range files {
			out[filepath.Join(d.Name(), f.Name())] = true
		}
	}
	return out
}

func appendFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

// Forget deletes module d from the store with the code made from it:
// instrumented modules and compiled code, by every engine kind.
func (r *Runtime) Forget(d Digest) error {
	if b, err := os.ReadFile(r.compiledIndex(d)); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if filepath.IsLocal(f) {
				os.Remove(filepath.Join(r.cacheDir, "compiled", f))
			}
		}
	}
	made, _ := filepath.Glob(filepath.Join(r.cacheDir, "instrumented", d.String()+"*"))
	for _, f := range made {
		os.Remove(f)
	}
	err := os.Remove(r.store.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// StoredModule is a module in the store and when it was put or last used.
type StoredModule struct {
	Digest  Digest
	ModTime time.Time
}

// List lists the modules of the store.
func (s *Store) List() []StoredModule {
	files, _ := filepath.Glob(filepath.Join(s.Dir, "*.wasm"))
	var out []StoredModule
	for _, f := range files {
		b, err := hex.DecodeString(strings.TrimSuffix(filepath.Base(f), ".wasm"))
		fi, serr := os.Stat(f)
		if err != nil || len(b) != len(Digest{}) || serr != nil {
			continue
		}
		out = append(out, StoredModule{Digest: Digest(b), ModTime: fi.ModTime()})
	}
	return out
}

// Touch marks module d as used now.
func (s *Store) Touch(d Digest) {
	now := time.Now()
	_ = os.Chtimes(s.path(d), now, now)
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
