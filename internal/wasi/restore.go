package wasi

import (
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"time"
)

// Restore rebuilds a Host from Save's bytes. cfg supplies only Stdin,
// Stdout, Stderr, Rand, Now and Volumes; arguments, environment, preopens
// and the fd table come from state. Preopens must be host paths without
// cfg.Volumes and volumes of cfg.Volumes with it. Every open file and
// directory is reopened by path at its offset; an error names any path that
// is gone, and any file whose size or content differs from the snapshot's.
// The guest monotonic clock continues from the saved value.
func Restore(cfg Config, state []byte) (*Host, error) {
	s, err := decodeState(state)
	if err != nil {
		return nil, err
	}
	h := newHost(cfg, s.mono)
	h.args, h.env = s.args, s.env
	h.stdoutBytes, h.stderrBytes = s.stdoutBytes, s.stderrBytes
	h.stdin.restore(s.stdinBuf, s.stdinEOF, s.stdinRead)
	h.poll = s.poll
	for _, p := range s.preopens {
		if err := h.addPreopen(p, cfg.Volumes); err != nil {
			h.Close()
			return nil, fmt.Errorf("wasi: restore: %w", err)
		}
	}
	for _, f := range s.fds {
		e, err := h.reopen(s, f)
		if err != nil {
			h.Close()
			return nil, err
		}
		h.fds[f.fd] = e
	}
	return h, nil
}

// reopen recreates one fd's entry.
func (h *Host) reopen(s *savedState, f savedFD) (*entry, error) {
	e := &entry{kind: f.kind, rights: f.rights, inheriting: f.inheriting, fdflags: f.fdflags,
		preopen: int(f.preopen), rel: f.rel, isPreopen: f.isPreopen, read: f.read, write: f.write}
	if f.kind != kindDir && f.kind != kindFile {
		return e, nil
	}
	fail := func(err error) (*entry, error) {
		return nil, fmt.Errorf("wasi: restore: fd %d (%s, %s): %w",
			f.fd, h.guestPath(e), h.preopens[f.preopen].where(f.rel), statHint(err))
	}
	root := h.preopens[f.preopen].root
	if f.kind == kindDir {
		fi, err := root.Stat(f.rel)
		if err == nil && !fi.IsDir() {
			err = fmt.Errorf("no longer a directory")
		}
		if err != nil {
			return fail(err)
		}
		return e, nil
	}
	file, err := root.OpenFile(f.rel, openFlags(f.read, f.write), 0)
	if err != nil {
		return fail(err)
	}
	e.file = file
	if err := h.checkIdentity(e, f); err != nil {
		file.Close()
		return fail(err)
	}
	if _, err := file.Seek(int64(f.offset), io.SeekStart); err != nil {
		file.Close()
		return fail(err)
	}
	return e, nil
}

// where names a path under the preopen for an error message: on a node, by
// volume, since its host paths are the operator's business.
func (p preopen) where(rel string) string {
	if p.vol != "" {
		return "volume " + path.Join(p.vol, p.sub, rel)
	}
	return "host " + filepath.Join(p.host, rel)
}

// checkIdentity refuses a file that is not what the snapshot recorded.
func (h *Host) checkIdentity(e *entry, f savedFD) error {
	limit := int64(-1)
	if f.ident.kind == identHash {
		limit = math.MaxInt64
	}
	now, err := h.identify(e, limit)
	if err != nil {
		return err
	}
	if why := f.ident.differs(now); why != "" {
		return fileChanged("changed since the snapshot: " + why)
	}
	return nil
}

// Summary describes a saved state, for `roam snapshot inspect`.
type Summary struct {
	Version       int           `json:"version"`
	Args          []string      `json:"args"`
	Env           []string      `json:"env"`
	Preopens      []Preopen     `json:"preopens"`
	FDs           []FDSummary   `json:"fds"`
	StdinRead     uint64        `json:"stdin_read"`     // bytes delivered to the guest
	StdinBuffered int           `json:"stdin_buffered"` // read from the host, not yet delivered
	StdinEOF      bool          `json:"stdin_eof"`
	StdoutBytes   uint64        `json:"stdout_bytes"`
	StderrBytes   uint64        `json:"stderr_bytes"`
	Monotonic     time.Duration `json:"monotonic_ns"` // guest monotonic clock
	PendingPoll   bool          `json:"pending_poll"` // an interrupted poll_oneoff will be retried
}

// FDSummary is one open fd of a saved state.
type FDSummary struct {
	FD        uint32 `json:"fd"`
	Kind      string `json:"kind"` // stdin, stdout, stderr, dir, file
	GuestPath string `json:"guest_path,omitempty"`
	HostPath  string `json:"host_path,omitempty"`
	Volume    string `json:"volume,omitempty"` // VOLUME/PATH of a file under a node's volume
	Offset    uint64 `json:"offset"`
	Preopen   bool   `json:"preopen,omitempty"`
	Append    bool   `json:"append,omitempty"`
}

// Describe decodes a saved state without opening anything.
func Describe(state []byte) (Summary, error) {
	s, err := decodeState(state)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Version: int(s.version), Args: s.args, Env: s.env, Preopens: s.preopens,
		StdinRead: s.stdinRead, StdinBuffered: len(s.stdinBuf), StdinEOF: s.stdinEOF,
		StdoutBytes: s.stdoutBytes, StderrBytes: s.stderrBytes,
		Monotonic: time.Duration(s.mono), PendingPoll: s.poll != nil}
	for _, f := range s.fds {
		fs := FDSummary{FD: f.fd, Kind: f.kind.String(), Offset: f.offset,
			Preopen: f.isPreopen, Append: f.fdflags&fdflagAppend != 0}
		if f.kind == kindDir || f.kind == kindFile {
			fs.GuestPath = path.Join(s.preopens[f.preopen].GuestPath, f.rel)
			fs.HostPath = s.hostPath(f)
			if p := s.preopens[f.preopen]; p.Volume != "" {
				fs.Volume = path.Join(p.Volume, p.Sub, f.rel)
			}
		}
		sum.FDs = append(sum.FDs, fs)
	}
	return sum, nil
}
