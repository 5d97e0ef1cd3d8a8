package cli

import "testing"

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "512KiB": 512 << 10, "64MiB": 64 << 20, "1GiB": 1 << 30, "2m": 2 << 20, "10b": 10} {
		var n int64
		if err := (byteSize{&n}).Set(in); err != nil || n != want {
			t.Errorf("%q: %d %v, want %d", in, n, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "1TiB", "x", "99999999999GiB"} {
		var n int64
		if err := (byteSize{&n}).Set(in); err == nil {
			t.Errorf("%q: accepted as %d", in, n)
		}
	}
	n := int64(64 << 20)
	if s := (byteSize{&n}).String(); s != "64MiB" {
		t.Errorf("String: %q", s)
	}
}
