package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// kernel is a compute guest from testdata/wasm and the arguments that make
// one uninterrupted run take about 0.2-0.5 s on wazero's compiler here.
type kernel struct {
	name string
	args []string
}

var kernels = []kernel{
	{"c-fib", []string{"10"}},
	{"c-matmul", []string{"20"}},
	{"c-nbody", []string{"10"}},
	{"c-sieve", []string{"20"}},
	{"c-hash", []string{"16"}},
	{"c-sort", []string{"10"}},
	{"rust-bench", []string{"20"}},
	{"go-bench", []string{"8"}},
}

// argv is what the guest sees: its name, then its arguments.
func (k kernel) argv() []string { return append([]string{k.name}, k.args...) }

func (k kernel) String() string { return fmt.Sprintf("%s %v", k.name, k.args) }

// wasmDir finds testdata/wasm from the module root or below it.
func wasmDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "testdata", "wasm")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no testdata/wasm above %s: run from the repository", dir)
		}
		dir = parent
	}
}

func readModule(dir, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(dir, name+".wasm"))
}

// tail discards what the guest prints but keeps its last line, so that the
// variants' results can be compared, and tells a waiter when a marker
// appears at the start of a line.
type tail struct {
	mu     sync.Mutex
	line   []byte
	last   []byte
	marker []byte
	seen   chan struct{}
}

func newTail(marker string) *tail {
	return &tail{marker: []byte(marker), seen: make(chan struct{})}
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range p {
		if b != '\n' {
			t.line = append(t.line, b)
			continue
		}
		t.last = append(t.last[:0], t.line...)
		t.line = t.line[:0]
		if len(t.marker) > 0 && bytes.HasPrefix(t.last, t.marker) {
			close(t.seen)
			t.marker = nil
		}
	}
	return len(p), nil
}

// lastLine is the last complete line written.
func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.last)
}
