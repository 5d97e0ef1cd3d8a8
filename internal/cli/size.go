package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeValue is a flag holding a size in bytes, written as a number with
// an optional binary unit: 1048576, 512KiB, 256MiB, 1GiB (K, M, G alone
// are the same units).
type sizeValue[T int64 | uint64] struct{ bytes *T }

func (v sizeValue[T]) String() string {
	if v.bytes == nil || *v.bytes < 0 {
		return "0"
	}
	return formatSize(uint64(*v.bytes))
}

func (v sizeValue[T]) Set(s string) error {
	b, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.bytes = T(b)
	return nil
}

func (v sizeValue[T]) Type() string { return "size" }

var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"GIB", 30}, {"MIB", 20}, {"KIB", 10}, {"G", 30}, {"M", 20}, {"K", 10}, {"B", 0}}

// parseSize parses a size such as 256MiB into bytes, at most 4 EiB (so
// that it also fits an int64).
func parseSize(s string) (uint64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	shift := uint(0)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, shift = strings.TrimSpace(rest), u.shift
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n > (1<<62)>>shift {
		return 0, fmt.Errorf("size %q: want bytes or a number with KiB, MiB or GiB", s)
	}
	return n << shift, nil
}

func formatSize(b uint64) string {
	for _, u := range sizeUnits[:3] {
		if b != 0 && b%(1<<u.shift) == 0 {
			return strconv.FormatUint(b>>u.shift, 10) + u.suffix[:1] + "iB"
		}
	}
	return strconv.FormatUint(b, 10)
}
