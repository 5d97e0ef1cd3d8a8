package cli

import "testing"

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{"0", 0, false}, {"65536", 65536, false}, {"512KiB", 512 << 10, false}, {"256MiB", 256 << 20, false},
		{"16M", 16 << 20, false}, {"1gib", 1 << 30, false}, {"4 GiB", 4 << 30, false}, {"100B", 100, false},
		{"", 0, true}, {"MiB", 0, true}, {"-1MiB", 0, true}, {"1.5GiB", 0, true}, {"12TB", 0, true},
		{"99999999999GiB", 0, true},
	} {
		got, err := parseSize(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, bad %v", c.in, got, err, c.want, c.bad)
		}
	}
	for _, b := range []uint64{1 << 30, 256 << 20, 12 << 10, 1000} {
		if got, err := parseSize(formatSize(b)); err != nil || got != b {
			t.Errorf("formatSize(%d) = %q does not parse back: %d, %v", b, formatSize(b), got, err)
		}
	}
}
