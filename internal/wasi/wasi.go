// Package wasi is Roam's own WASI preview1 host (module
// "wasi_snapshot_preview1"). Its whole state (arguments, environment,
// preopened directories, the fd table with file offsets and flags, stdio
// counters and buffered stdin, the guest monotonic clock and the deadlines of
// an interrupted poll_oneoff) can be saved into bytes and restored in another
// process, possibly on another machine, which is what lets Roam migrate
// running instances.
//
// The package is engine-agnostic: it exposes host functions as plain Go
// closures over a small Memory interface, and the engine adapts them. It must
// not depend on wazero, on HTTP, or on orchestration code.
package wasi

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ModuleName is the import module name the host functions live under.
const ModuleName = "wasi_snapshot_preview1"

// Memory is the guest's linear memory as the engine exposes it.
type Memory interface {
	// Read returns a view of n bytes at offset (writes to it reach guest
	// memory); false if out of range.
	Read(offset, n uint32) ([]byte, bool)
	// Write copies b into memory at offset; false if out of range.
	Write(offset uint32, b []byte) bool
}

// Preopen maps a directory to the path under which the guest sees it: a
// host directory (roam run), or a directory Sub inside a node's Volume.
type Preopen struct {
	HostPath  string // empty for a volume
	Volume    string // a node's volume (Volumes)
	Sub       string // clean, relative, inside Volume; empty for its root
	GuestPath string
}

// Config configures a Host.
type Config struct {
	Args           []string  // argv, argv[0] included
	Env            []string  // "K=V"
	Stdin          io.Reader // nil = empty
	Stdout, Stderr io.Writer // nil = discard
	Preopens       []Preopen
	// Volumes, set on a node, are the only directories preopens may name:
	// a host path is refused, and so is a volume that is not there. When
	// nil, preopens are host paths (roam run, roam resume).
	Volumes *Volumes
	Rand    io.Reader        // nil = crypto/rand
	Now     func() time.Time // nil = time.Now; realtime clock only
}

// ExitError is what proc_exit panics with; the engine recovers it.
type ExitError struct{ Code uint32 }

func (e *ExitError) Error() string { return fmt.Sprintf("wasi: exit status %d", e.Code) }

// preopen is an opened preopened directory. root confines every path
// operation to the directory (symlinks included).
type preopen struct {
	host, guest string
	vol, sub    string // a volume preopen: host is where it was on this node
	root        *os.Root
}

// Host is one instance's WASI state. Its functions are called from the guest
// goroutine; Interrupt and ClearInterrupt may be called from any goroutine.
type Host struct {
	args, env   []string
	preopens    []preopen
	fds         map[uint32]*entry
	stdin       *stdinPump
	stdout      io.Writer
	stderr      io.Writer
	rand        io.Reader
	now         func() time.Time
	clock       monoClock
	stdoutBytes uint64
	stderrBytes uint64
	poll        *pendingPoll // deadlines of an interrupted poll_oneoff
	intr        interruptor
	interrupted bool // set by a blocking call that returned early
}

// New creates a Host and opens the preopened directories (an error if one is
// missing or not a directory). fds 0-2 are stdio, preopens start at 3.
func New(cfg Config) (*Host, error) {
	if err := checkStrings("argument", cfg.Args); err != nil {
		return nil, err
	}
	if err := checkStrings("environment variable", cfg.Env); err != nil {
		return nil, err
	}
	h := newHost(cfg, 1) // never 0: some runtimes treat a zero clock as unset
	h.args = append([]string(nil), cfg.Args...)
	h.env = append([]string(nil), cfg.Env...)
	for _, p := range cfg.Preopens {
		if err := h.addPreopen(p, cfg.Volumes); err != nil {
			h.Close()
			return nil, err
		}
	}
	h.fds[0] = &entry{kind: kindStdin, rights: rightsStdin}
	h.fds[1] = &entry{kind: kindStdout, rights: rightsStdout}
	h.fds[2] = &entry{kind: kindStderr, rights: rightsStdout}
	for i := range h.preopens {
		h.fds[uint32(3+i)] = newDirEntry(i, ".", true)
	}
	return h, nil
}

// newHost sets up the parts that come from the Config in both New and Restore.
func newHost(cfg Config, mono int64) *Host {
	h := &Host{fds: map[uint32]*entry{}, stdout: cfg.Stdout, stderr: cfg.Stderr,
		rand: cfg.Rand, now: cfg.Now}
	if h.stdout == nil {
		h.stdout = io.Discard
	}
	if h.stderr == nil {
		h.stderr = io.Discard
	}
	if h.rand == nil {
		h.rand = rand.Reader
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.stdin = newStdinPump(cfg.Stdin)
	h.clock.reset(mono)
	h.intr.init()
	return h
}

func checkStrings(what string, ss []string) error {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("wasi: %s %q contains a NUL byte", what, s)
		}
	}
	return nil
}

// addPreopen opens a preopened directory; the host path is made absolute so
// that a restore in a process with another working directory finds it. With
// vols, p must name one of them.
func (h *Host) addPreopen(p Preopen, vols *Volumes) error {
	switch {
	case vols != nil && p.Volume == "":
		return fmt.Errorf("wasi: preopen %s (guest %s): %w (this node has: %s)",
			p.HostPath, p.GuestPath, ErrHostPath, vols.list())
	case vols == nil && p.Volume != "":
		return fmt.Errorf("wasi: preopen of volume %s (guest %s): volumes exist on nodes only; run it on a node with volume %s",
			path.Join(p.Volume, p.Sub), p.GuestPath, p.Volume)
	case vols != nil:
		root, host, err := vols.open(p.Volume, p.Sub)
		if err != nil {
			return fmt.Errorf("wasi: preopen (guest %s): %w", p.GuestPath, err)
		}
		h.preopens = append(h.preopens, preopen{host: host, guest: p.GuestPath, vol: p.Volume, sub: p.Sub, root: root})
		return nil
	case p.HostPath == "":
		return errors.New("wasi: preopen with an empty host path")
	}
	abs, err := filepath.Abs(p.HostPath)
	if err != nil {
		return fmt.Errorf("wasi: preopen %q: %w", p.HostPath, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return fmt.Errorf("wasi: preopen %q: %w", p.HostPath, err)
	}
	guest := p.GuestPath
	if guest == "" {
		guest = p.HostPath
	}
	h.preopens = append(h.preopens, preopen{host: abs, guest: guest, root: root})
	return nil
}

// Close releases every host file and directory the Host holds and stops
// reading stdin (a pending read is aborted if the reader supports deadlines,
// see DetachStdin; otherwise what it returns is dropped). The Host must not
// be used afterwards.
func (h *Host) Close() error {
	for fd, e := range h.fds {
		e.close()
		delete(h.fds, fd)
	}
	for _, p := range h.preopens {
		p.root.Close()
	}
	h.preopens = nil
	h.stdin.close()
	return nil
}

// DetachStdin stops reading the real stdin, so that a following Save holds
// every byte taken from it; call it after pausing and before a final Save
// (when the instance moves away). A read in progress is aborted without
// consuming data if the reader has SetReadDeadline (net.Conn, or an os.File
// pipe or terminal in non-blocking mode); DetachStdin waits up to wait for
// it and returns false if a read is still in progress, whose bytes would
// then miss the saved state. AttachStdin undoes it (a move that failed).
func (h *Host) DetachStdin(wait time.Duration) bool { return h.stdin.detach(wait) }

// AttachStdin resumes reading stdin after DetachStdin.
func (h *Host) AttachStdin() { h.stdin.attach() }

// Interrupt wakes a blocking call now running and makes blocking calls return
// at once, without effect, until ClearInterrupt. Safe from any goroutine.
func (h *Host) Interrupt() { h.intr.set() }

// ClearInterrupt lets blocking calls wait again.
func (h *Host) ClearInterrupt() { h.intr.clear() }

// TakeInterrupted reports whether the blocking call that just returned did so
// early because of Interrupt (or its context ending), without side effects
// visible to the guest: the engine must call it again with the same arguments
// after resuming. It resets the flag. Guest goroutine only.
func (h *Host) TakeInterrupted() bool {
	v := h.interrupted
	h.interrupted = false
	return v
}

// PauseClock stops the guest monotonic clock (while the instance is paused
// in-process); ResumeClock restarts it from the same value.
func (h *Host) PauseClock() { h.clock.pause() }

// ResumeClock restarts the guest monotonic clock after PauseClock.
func (h *Host) ResumeClock() { h.clock.resume() }

// Monotonic returns the guest monotonic clock in nanoseconds.
func (h *Host) Monotonic() int64 { return h.clock.now() }

// StdoutBytes returns how many bytes the guest wrote to stdout.
func (h *Host) StdoutBytes() uint64 { return h.stdoutBytes }

// StderrBytes returns how many bytes the guest wrote to stderr.
func (h *Host) StderrBytes() uint64 { return h.stderrBytes }
