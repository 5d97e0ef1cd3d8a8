package wasi

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cespare/xxhash/v2"
)

// HashBudget is how many bytes of open files one snapshot hashes: files are
// hashed whole, in fd order, while the budget lasts; a file larger than what
// is left is identified by its size and modification time only. Hashing
// reads the files at capture time, which for a migration is in the downtime
// (1.4 ms for 8 MiB from the page cache, see RATIONALE.md).
const HashBudget = 8 << 20

// How much a saved identity holds.
const (
	identNone = iota // not a regular file: nothing to compare
	identStat        // size and modification time (over HashBudget)
	identHash        // size and xxhash64 of the content
)

// identity is what a snapshot records of an open regular file, so that a
// restore refuses a file that changed since (open files do not travel with
// the instance: they are reopened by path, DESIGN.md section 9).
type identity struct {
	kind  uint8
	size  uint64
	mtime int64 // ns since the epoch
	hash  uint64
}

// identify reads the identity of e's file, hashing it if it is at most
// limit bytes long. A file opened write-only is read through a second
// descriptor, when the path still names the same file.
func (h *Host) identify(e *entry, limit int64) (identity, error) {
	fi, err := e.file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return identity{}, err
	}
	id := identity{kind: identStat, size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
	if fi.Size() > limit {
		return id, nil
	}
	r := e.file
	if !e.read {
		if r = h.readable(e, fi); r == nil {
			return id, nil
		}
		defer r.Close()
	}
	d := xxhash.New()
	buf := make([]byte, min(fi.Size(), 256<<10)+1) // +1: never empty
	if _, err := io.CopyBuffer(d, io.NewSectionReader(r, 0, fi.Size()), buf); err != nil {
		return id, err
	}
	id.kind, id.hash = identHash, d.Sum64()
	return id, nil
}

// readable opens e's file again for reading, or returns nil if it cannot
// or if its path now names another file.
func (h *Host) readable(e *entry, fi os.FileInfo) *os.File {
	f, err := h.preopens[e.preopen].root.Open(e.rel)
	if err != nil {
		return nil
	}
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		f.Close()
		return nil
	}
	return f
}

// differs says how now differs from the saved identity, "" if it does not.
// A hashed file is compared by size and content only: a copy made without
// keeping times (cp, rsync without -t) is the same file to the guest.
func (id identity) differs(now identity) string {
	switch {
	case id.kind == identNone:
		return ""
	case now.kind == identNone:
		return "no longer a regular file"
	case now.size != id.size:
		return fmt.Sprintf("its size is %d bytes, the snapshot's %d", now.size, id.size)
	case id.kind == identHash && now.kind == identHash && now.hash != id.hash:
		return fmt.Sprintf("its content differs (xxhash64 %016x, the snapshot's %016x)", now.hash, id.hash)
	case id.kind == identHash && now.kind != identHash:
		return "it cannot be read to compare its content"
	case id.kind == identStat && now.mtime != id.mtime:
		return fmt.Sprintf("it was modified at %s, the snapshot's at %s (not hashed: compared by size and time)",
			fmtTime(now.mtime), fmtTime(id.mtime))
	}
	return ""
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func (id identity) encode(e *encoder) {
	e.u8(id.kind)
	if id.kind == identNone {
		return
	}
	e.u64(id.size)
	e.u64(uint64(id.mtime))
	if id.kind == identHash {
		e.u64(id.hash)
	}
}

func decodeIdentity(d *decoder) identity {
	id := identity{kind: d.u8()}
	switch id.kind {
	case identNone:
	case identStat, identHash:
		id.size, id.mtime = d.u64(), int64(d.u64())
		if id.kind == identHash {
			id.hash = d.u64()
		}
	default:
		d.fail("unknown file identity kind %d", id.kind)
	}
	return id
}
