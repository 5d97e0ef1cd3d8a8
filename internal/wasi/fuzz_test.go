package wasi

import (
	"context"
	"hash/crc32"
	"testing"
	"time"
)

// FuzzRestore feeds arbitrary bytes to Restore and Describe: they must
// refuse or succeed, never panic. Inputs are tried as given (mostly stopped
// by the checksum) and with the checksum fixed (reaching the decoder).
func FuzzRestore(f *testing.F) {
	x, dir := newTestHost(f, Config{Args: []string{"a", "b"}, Env: []string{"K=V"}})
	writeHostFile(f, dir, "f", "data")
	fd, _ := x.open(3, "f", 0, rightFdRead, fdflagAppend)
	x.read(fd, 2)
	x.open(3, ".", oflagDirectory, rightsDir, 0)
	x.h.Interrupt()
	x.poll(context.Background(), clockSub(1, clockMonotonic, time.Hour, 0))
	if x.h.poll == nil {
		f.Fatal("seed has no pending poll")
	}
	f.Add(x.save())
	y, _ := newTestHost(f, Config{})
	f.Add(y.save())
	f.Add([]byte{StateVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		try(t, data)
		if len(data) >= 5 {
			fixed := append([]byte(nil), data...)
			body := fixed[:len(fixed)-4]
			le.PutUint32(fixed[len(fixed)-4:], crc32.ChecksumIEEE(body))
			try(t, fixed)
		}
	})
}

func try(t *testing.T, data []byte) {
	if h, err := Restore(Config{}, data); err == nil {
		if _, err := h.Save(); err != nil {
			t.Errorf("restored state does not save: %v", err)
		}
		h.Close()
	}
	Describe(data)
}
