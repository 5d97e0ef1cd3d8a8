package wasi

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// StateVersion is the version byte that starts every saved state.
//
// History:
//   - 1 (2026-11) first format; preopens are host paths.
//   - 2 (2026-12) a preopen is a host path or a node's volume and a path in
//     it; each open regular file carries its identity (size, modification
//     time, xxhash64 of its content up to HashLimit), checked on restore.
//
// Version 1 still decodes: its preopens are host paths, which a node
// refuses, and its files are reopened without an identity check.
const StateVersion = 2

// savedState is the decoded form of a saved Host, shared by Restore and
// Describe. It holds no host pointers: files are named by preopen and path.
type savedState struct {
	version     uint8
	args, env   []string
	preopens    []Preopen
	mono        int64
	stdinRead   uint64
	stdoutBytes uint64
	stderrBytes uint64
	stdinBuf    []byte
	stdinEOF    bool
	poll        *pendingPoll
	fds         []savedFD
}

type savedFD struct {
	fd                 uint32
	kind               kind
	rights, inheriting uint64
	fdflags            uint16
	preopen            uint32
	rel                string
	isPreopen          bool
	read, write        bool
	offset             uint64
	ident              identity // kindFile: what the file was at capture
}

// Save serialises the whole state. It must not run concurrently with the
// guest's calls (the instance is paused); the Host stays usable.
func (h *Host) Save() ([]byte, error) {
	s := savedState{args: h.args, env: h.env, mono: h.clock.now(),
		stdoutBytes: h.stdoutBytes, stderrBytes: h.stderrBytes, poll: h.poll}
	s.stdinBuf, s.stdinEOF, s.stdinRead = h.stdin.snapshot()
	for _, p := range h.preopens {
		if p.vol != "" {
			s.preopens = append(s.preopens, Preopen{Volume: p.vol, Sub: p.sub, GuestPath: p.guest})
		} else {
			s.preopens = append(s.preopens, Preopen{HostPath: p.host, GuestPath: p.guest})
		}
	}
	fds := make([]uint32, 0, len(h.fds))
	for fd := range h.fds {
		fds = append(fds, fd)
	}
	sort.Slice(fds, func(i, j int) bool { return fds[i] < fds[j] })
	budget := int64(HashBudget)
	for _, fd := range fds {
		sf, err := h.saveFD(fd, h.fds[fd], &budget)
		if err != nil {
			return nil, err
		}
		s.fds = append(s.fds, sf)
	}
	return s.encode(), nil
}

// saveFD records one fd; budget is what is left of HashBudget.
func (h *Host) saveFD(fd uint32, e *entry, budget *int64) (savedFD, error) {
	sf := savedFD{fd: fd, kind: e.kind, rights: e.rights, inheriting: e.inheriting,
		fdflags: e.fdflags, preopen: uint32(e.preopen), rel: e.rel,
		isPreopen: e.isPreopen, read: e.read, write: e.write}
	switch e.kind {
	case kindFile:
		off, err := e.file.Seek(0, io.SeekCurrent)
		if err != nil {
			return sf, fmt.Errorf("wasi: save: fd %d (%s): %w", fd, h.guestPath(e), err)
		}
		sf.offset = uint64(off)
		if sf.ident, err = h.identify(e, *budget); err != nil {
			return sf, fmt.Errorf("wasi: save: fd %d (%s): %w", fd, h.guestPath(e), err)
		}
		if sf.ident.kind == identHash {
			*budget -= int64(sf.ident.size)
		}
	case kindSocket:
		return sf, fmt.Errorf("wasi: save: fd %d: sockets cannot be saved yet", fd)
	}
	return sf, nil
}

func (s *savedState) encode() []byte {
	e := &encoder{}
	e.u8(StateVersion)
	e.strs(s.args)
	e.strs(s.env)
	e.u32(uint32(len(s.preopens)))
	for _, p := range s.preopens {
		e.str(p.HostPath)
		e.str(p.Volume)
		e.str(p.Sub)
		e.str(p.GuestPath)
	}
	e.u64(uint64(s.mono))
	e.u64(s.stdinRead)
	e.u64(s.stdoutBytes)
	e.u64(s.stderrBytes)
	e.bytes(s.stdinBuf)
	e.bool(s.stdinEOF)
	e.bool(s.poll != nil)
	if s.poll != nil {
		e.bytes(s.poll.subs)
		e.u32(uint32(len(s.poll.deadlines)))
		for _, d := range s.poll.deadlines {
			e.u64(uint64(d))
		}
	}
	e.u32(uint32(len(s.fds)))
	for _, f := range s.fds {
		f.encode(e)
	}
	e.u32(crc32.ChecksumIEEE(e.b))
	return e.b
}

func (f *savedFD) encode(e *encoder) {
	e.u32(f.fd)
	e.u8(uint8(f.kind))
	e.u64(f.rights)
	e.u64(f.inheriting)
	e.u16(f.fdflags)
	if f.kind == kindDir || f.kind == kindFile {
		e.u32(f.preopen)
		e.str(f.rel)
		e.bool(f.isPreopen)
		e.bool(f.read)
		e.bool(f.write)
		e.u64(f.offset)
	}
	if f.kind == kindFile {
		f.ident.encode(e)
	}
}

// decodeState parses and validates a saved state without touching the host.
func decodeState(b []byte) (*savedState, error) {
	switch {
	case len(b) == 0:
		return nil, errors.New("wasi state: empty")
	case b[0] != 1 && b[0] != StateVersion:
		return nil, fmt.Errorf("wasi state: unknown version %d (this build reads versions 1 to %d)", b[0], StateVersion)
	case len(b) < 5:
		return nil, errors.New("wasi state: truncated")
	}
	body, sum := b[:len(b)-4], le.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("wasi state: checksum mismatch (corrupt or truncated)")
	}
	d := &decoder{b: body[1:]}
	s := &savedState{version: b[0]}
	s.decodeHeader(d)
	s.decodeFDs(d)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("wasi state: %w", d.err)
	}
	return s, nil
}

func (s *savedState) decodeHeader(d *decoder) {
	s.args, s.env = d.strs(), d.strs()
	n := d.count(8)
	for i := 0; i < n && d.err == nil; i++ {
		s.preopens = append(s.preopens, s.decodePreopen(d))
	}
	mono := d.u64()
	if mono > math.MaxInt64 {
		d.fail("monotonic clock out of range")
	}
	s.mono = int64(mono)
	s.stdinRead, s.stdoutBytes, s.stderrBytes = d.u64(), d.u64(), d.u64()
	s.stdinBuf, s.stdinEOF = d.bytes(), d.bool()
	if d.bool() {
		s.poll = decodePoll(d)
	}
}

func decodePoll(d *decoder) *pendingPoll {
	p := &pendingPoll{subs: d.bytes()}
	n := d.count(8)
	if d.err == nil && (len(p.subs)%subscriptionSize != 0 || n != len(p.subs)/subscriptionSize) {
		d.fail("pending poll: %d deadlines for %d bytes of subscriptions", n, len(p.subs))
	}
	for i := 0; i < n && d.err == nil; i++ {
		p.deadlines = append(p.deadlines, int64(d.u64()))
	}
	return p
}

func (s *savedState) decodeFDs(d *decoder) {
	n := d.count(23)
	seen := map[uint32]bool{}
	for i := 0; i < n && d.err == nil; i++ {
		f := savedFD{fd: d.u32(), kind: kind(d.u8()), rights: d.u64(), inheriting: d.u64(), fdflags: d.u16()}
		if f.kind == kindDir || f.kind == kindFile {
			f.preopen, f.rel = d.u32(), d.str()
			f.isPreopen, f.read, f.write, f.offset = d.bool(), d.bool(), d.bool(), d.u64()
		}
		if f.kind == kindFile && s.version >= 2 {
			f.ident = decodeIdentity(d)
		}
		if d.err == nil {
			s.checkFD(d, f, seen)
		}
		s.fds = append(s.fds, f)
	}
}

func (s *savedState) checkFD(d *decoder, f savedFD, seen map[uint32]bool) {
	switch {
	case seen[f.fd] || f.fd >= maxFDs:
		d.fail("fd %d duplicated or out of range", f.fd)
	case f.kind < kindStdin || f.kind > kindFile:
		d.fail("fd %d: unknown kind %d", f.fd, f.kind)
	case f.fdflags&^fdflagsAll != 0:
		d.fail("fd %d: bad flags %#x", f.fd, f.fdflags)
	case f.kind != kindDir && f.kind != kindFile:
	case int(f.preopen) >= len(s.preopens):
		d.fail("fd %d: preopen %d out of range", f.fd, f.preopen)
	case f.offset > math.MaxInt64:
		d.fail("fd %d: offset out of range", f.fd)
	case f.rel != "." && !validRel(f.rel):
		d.fail("fd %d: bad path %q", f.fd, f.rel)
	}
	seen[f.fd] = true
}

func validRel(rel string) bool {
	c, errno := cleanRel(rel)
	return errno == ESUCCESS && c == rel
}

// decodePreopen reads a host path or a volume; a version 1 state has host
// paths only.
func (s *savedState) decodePreopen(d *decoder) Preopen {
	if s.version == 1 {
		return Preopen{HostPath: d.str(), GuestPath: d.str()}
	}
	p := Preopen{HostPath: d.str(), Volume: d.str(), Sub: d.str(), GuestPath: d.str()}
	switch {
	case d.err != nil:
	case (p.HostPath == "") == (p.Volume == ""):
		d.fail("preopen %q: want a host path or a volume", p.GuestPath)
	case p.Volume != "" && !volumeName.MatchString(p.Volume):
		d.fail("preopen %q: bad volume name %q", p.GuestPath, p.Volume)
	case p.Sub != "" && !validRel(p.Sub):
		d.fail("preopen %q: bad path %q in volume %s", p.GuestPath, p.Sub, p.Volume)
	}
	return p
}

// hostPath is where an fd's file lives on the host, "" for a volume (it
// depends on the node).
func (s *savedState) hostPath(f savedFD) string {
	if s.preopens[f.preopen].HostPath == "" {
		return ""
	}
	return filepath.Join(s.preopens[f.preopen].HostPath, filepath.FromSlash(f.rel))
}

// statHint explains a failed reopen.
func statHint(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fileChanged("no longer exists")
	}
	return err
}
