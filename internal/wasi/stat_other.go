//go:build !linux

package wasi

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// sysStat fills nothing more where the host's stat structure is not known.
func sysStat(fi fs.FileInfo, st *filestat) {}

// lchtimes is not supported off Linux: the caller reports ENOTSUP.
func lchtimes(root *os.Root, rel string, a, m time.Time) error { return errors.ErrUnsupported }
