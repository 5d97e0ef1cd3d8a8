// Package snapshot is the portable, versioned, checksummed file format of a
// paused instance: linear memory, globals, tables, the guest call stack and the
// WASI host state, all at the Wasm level. A snapshot taken on one engine, OS or
// CPU architecture resumes on any other: every integer is little endian and no
// host pointer is ever stored.
//
// It must not depend on any engine (wazero or another), on HTTP, or on
// orchestration code: the engine fills a Snapshot, this package only moves it
// to and from bytes.
//
// # Layout
//
//	magic    "ROAMSNAP" (8 bytes)
//	version  uint32
//	section* id uint8 · length uint32 · payload · CRC-32C (Castagnoli) uint32
//
// The CRC of a section covers its id, its length and its payload. Sections come
// in a fixed order: header, globals, tables, dropped, frames, wasi, names, zero
// or more memory sections in ascending chunk order, and a trailer whose payload
// is the number of bytes before it (uint64) and their xxhash64 (uint64). Nothing
// may follow the trailer.
//
// Memory is cut into 64 KiB chunks (one Wasm page). All-zero chunks are
// omitted; every other chunk is one memory section holding its index (uint32),
// a kind byte (0 raw, 1 zstd) and the data, zstd-compressed only when that
// shrinks it. See the section encoders in encode.go for each payload.
//
// A decoder checks the magic, then the version, then every section checksum as
// it reads, then the trailer digest, and returns nothing until all passed.
//
// # Version history
//
//   - 1 (2026-11-26): first format.
package snapshot

import (
	"errors"
	"fmt"
)

// Version is the format version that Encode writes and the only one Decode
// reads. Bump it on any change of layout and keep a fixture of the old one in
// testdata/ for as long as the decoder still reads it.
const Version = 1

var (
	// ErrNotSnapshot means the input does not start with the snapshot magic.
	ErrNotSnapshot = errors.New("not a roam snapshot")
	// ErrVersion means the snapshot's format version is unknown to this build.
	ErrVersion = errors.New("unsupported snapshot version")
	// ErrTruncated means the input ended before the snapshot did.
	ErrTruncated = errors.New("snapshot truncated")
	// ErrCorrupt means a checksum, a length or a field failed verification.
	ErrCorrupt = errors.New("snapshot corrupt")
	// ErrLimit means the snapshot is well formed but over a decoder's Limits.
	ErrLimit = errors.New("snapshot over limit")
	// ErrInvalid means Encode was given a Snapshot it cannot represent.
	ErrInvalid = errors.New("invalid snapshot")
)

// VersionError is returned for a snapshot of a version this build cannot read.
// It matches ErrVersion with errors.Is.
type VersionError struct {
	Version uint32
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("snapshot version %d is not supported (this build reads %d)", e.Version, Version)
}

// Is makes errors.Is(err, ErrVersion) hold.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }
