package snapshot

import (
	"fmt"
	"io"
	"os"

	"github.com/roam-edge/roam/internal/atomicfile"
)

// WriteFile writes s to path atomically: it encodes into a temporary file in
// the same directory, syncs it, renames it over path and syncs the directory,
// so that path holds either its old content or the complete snapshot, never a
// part. The file is readable by its owner only: it holds guest memory.
func WriteFile(path string, s *Snapshot) error {
	return writeFile(path, s, Encode)
}

func writeFile(path string, s *Snapshot, encode func(io.Writer, *Snapshot) error) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return encode(w, s) }); err != nil {
		return fmt.Errorf("write snapshot %s: %w", path, err)
	}
	return nil
}

// ReadFile decodes the snapshot in the file at path.
func ReadFile(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
