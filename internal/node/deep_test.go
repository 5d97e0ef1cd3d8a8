package node

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/engine"
)

// guestModule is a WASI module of pages pages holding data at address 0, importing fd_write (func 0) and
// poll_oneoff (func 1), both of type 0 (i32 i32 i32 i32) -> i32, and
// defining funcs from 2 on, the first exported as _start. Types: 1 () -> (),
// 2 (i32) -> (). bodies are encoded function bodies (locals, code, end).
func guestModule(data []byte, pages int, types []byte, bodies ...[]byte) []byte {
	var b []byte
	section := func(id byte, body []byte) {
		b = append(b, id)
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	str := func(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	b = append(b, "\x00asm\x01\x00\x00\x00"...)
	section(1, []byte{3, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 0, 0, 0x60, 1, 0x7f, 0})
	wasi := str("wasi_snapshot_preview1")
	section(2, cat([]byte{2}, wasi, str("fd_write"), []byte{0, 0}, wasi, str("poll_oneoff"), []byte{0, 0}))
	section(3, cat([]byte{byte(len(types))}, types))
	section(5, []byte{1, 0, byte(pages)})
	section(7, cat([]byte{2}, str("_start"), []byte{0, 2}, str("memory"), []byte{2, 0}))
	code := []byte{byte(len(bodies))}
	for _, body := range bodies {
		code = append(code, binary.AppendUvarint(nil, uint64(len(body)))...)
		code = append(code, body...)
	}
	section(10, code)
	section(11, cat([]byte{1, 0, 0x41, 0, 0x0b}, binary.AppendUvarint(nil, uint64(len(data))), data))
	return b
}

// guestData is the data of the test guests: iovecs at 0 ("deep\n") and
// 24 ("tick\n"), a subscription at 64 (monotonic clock, 20 ms), the
// event at 128, counts at 8 and 160.
func guestData() []byte {
	mem := make([]byte, 112)
	binary.LittleEndian.PutUint32(mem[0:], 16)
	binary.LittleEndian.PutUint32(mem[4:], 5)
	copy(mem[16:], "deep\n")
	binary.LittleEndian.PutUint32(mem[24:], 32)
	binary.LittleEndian.PutUint32(mem[28:], 5)
	copy(mem[32:], "tick\n")
	sub := mem[64:]
	binary.LittleEndian.PutUint32(sub[16:], 1)
	binary.LittleEndian.PutUint64(sub[24:], 20_000_000)
	return mem
}

var (
	sleepCall = []byte{0x41, 0xc0, 0, 0x41, 0x80, 1, 0x41, 1, 0x41, 0xa0, 1, 0x10, 1, 0x1a} // poll_oneoff(64, 128, 1, 160); drop
	sleepLoop = append(append([]byte{0x03, 0x40}, sleepCall...), 0x0c, 0, 0x0b)             // loop: sleep; br 0
)

func writeCall(iov byte) []byte { // fd_write(1, iov, 1, 8); drop
	return []byte{0x41, 1, 0x41, iov, 0x41, 1, 0x41, 8, 0x10, 0, 0x1a}
}

// deepGuest recurses depth calls deep (rec(depth) down to rec(0)), prints
// "deep", then sleeps 20 ms and prints "tick" in a loop, at that depth,
// until stopped: a pause lands depth+2 frames deep.
func deepGuest(depth int) []byte {
	start := append(append([]byte{0, 0x41}, sleb(int64(depth))...), 0x10, 3, 0x0b)
	var rec []byte
	rec = append(rec, 0, 0x20, 0, 0x45, 0x04, 0x40) // if n == 0
	rec = append(rec, writeCall(0)...)
	rec = append(rec, 0x03, 0x40) // loop
	rec = append(rec, sleepCall...)
	rec = append(rec, writeCall(24)...)
	rec = append(rec, 0x0c, 0, 0x0b)                               // br 0; end loop
	rec = append(rec, 0x05, 0x20, 0, 0x41, 1, 0x6b, 0x10, 3, 0x0b) // else rec(n-1); end if
	rec = append(rec, 0x0b)
	return guestModule(guestData(), 1, []byte{1, 2}, start, rec)
}

// chattyGuest writes a 64 KiB block blocks times to stdout, then sleeps
// until stopped. Byte k of the block is k mod 251, so byte o of the whole
// output is (o mod 65536) mod 251.
func chattyGuest(blocks int) []byte {
	data := guestData()
	binary.LittleEndian.PutUint32(data[40:], 1024) // iovec at 40: the block at 1024
	binary.LittleEndian.PutUint32(data[44:], 65536)
	var f []byte
	f = append(f, 1, 1, 0x7f) // one local i32
	// Fill: i = 0; loop { mem[1024+i] = i % 251; i++; br_if i < 65536 }
	f = append(f, 0x41, 0, 0x21, 0, 0x03, 0x40,
		0x20, 0, 0x41, 0x80, 0x08, 0x6a, 0x20, 0, 0x41, 0xfb, 0x01, 0x70, 0x3a, 0, 0,
		0x20, 0, 0x41, 1, 0x6a, 0x22, 0, 0x41, 0x80, 0x80, 0x04, 0x49, 0x0d, 0, 0x0b)
	// i = 0; loop { write the block; i++; br_if i < blocks }
	f = append(f, 0x41, 0, 0x21, 0, 0x03, 0x40)
	f = append(f, writeCall(40)...)
	f = append(f, 0x20, 0, 0x41, 1, 0x6a, 0x22, 0, 0x41)
	f = append(f, sleb(int64(blocks))...)
	f = append(f, 0x49, 0x0d, 0, 0x0b)
	f = append(f, sleepLoop...)
	f = append(f, 0x0b)
	return guestModule(data, 2, []byte{1}, f)
}

// chattyByte is byte o of chattyGuest's output.
func chattyByte(o int64) byte { return byte((o % 65536) % 251) }

func sleb(v int64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// TestDeepInstanceRefusedByInterpreter: an instance deeper than wazero's
// interpreter can resume is refused by an interpreter destination at
// prepare, before the commit, with the depth and the limit; it runs on at
// the source. A shallow one moves.
func TestDeepInstanceRefusedByInterpreter(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) { c.Engine = engine.Compiler })
	b := startNodeWith(t, "b", t.TempDir(), func(c *Config) { c.Engine = engine.Interpreter })
	var info client.Node
	if do(t, "GET", b.url+"/v1/node", nil, &info); info.MaxCallDepth != 1999 {
		t.Fatalf("interpreter node reports max_call_depth %d, want 1999", info.MaxCallDepth)
	}
	info = client.Node{}
	if do(t, "GET", a.url+"/v1/node", nil, &info); info.MaxCallDepth != 0 {
		t.Fatalf("compiler node reports max_call_depth %d, want none", info.MaxCallDepth)
	}

	deep := startModule(t, a, deepGuest(3000), "deep.wasm")
	waitOutput(t, a.url, deep.ID, "deep\ntick\n")
	_, err := migrate(t, a.url, deep.ID, b.url)
	if err == nil || !strings.Contains(err.Error(), "3002 calls deep") || !strings.Contains(err.Error(), "at most 1999") ||
		!strings.Contains(err.Error(), "still runs on the source") {
		t.Fatalf("migrate 3000 deep to the interpreter: %v, want a refusal naming depth and limit", err)
	}
	t.Logf("refused: %v", err)
	if st := status(t, a.url, deep.ID); st.Status != statusRunning || st.Node != "a" {
		t.Fatalf("after the refusal the instance is %s on %s, want running on a", st.Status, st.Node)
	}
	before := logs(t, a.url, deep.ID, "stdout")
	waitOutput(t, a.url, deep.ID, before+"tick\n") // it goes on, output intact
	if n := len(b.list()); n != 0 {
		t.Fatalf("b holds %d instances after refusing", n)
	}
	// A checkpoint of it restored on the interpreter node: too_deep too.
	snap := fetch(t, a.url+"/v1/instances/"+deep.ID+"/snapshot")
	var body struct{ Error *APIError }
	if code := do(t, "POST", b.url+"/v1/instances/restore", bytes.NewReader(snap), &body); code != 422 ||
		body.Error == nil || body.Error.Code != codeTooDeep {
		t.Fatalf("restore of a 3000-deep checkpoint on the interpreter: %d %+v, want 422 too_deep", code, body.Error)
	}

	shallow := startModule(t, a, deepGuest(1900), "shallow.wasm")
	waitOutput(t, a.url, shallow.ID, "deep\ntick\n")
	if _, err := migrate(t, a.url, shallow.ID, b.url); err != nil {
		t.Fatalf("migrate 1900 deep to the interpreter: %v", err)
	}
	out := logs(t, b.url, shallow.ID, "stdout")
	waitOutput(t, b.url, shallow.ID, out+"tick\n") // runs there, no stack overflow
	if st := status(t, b.url, shallow.ID); st.Status != statusRunning {
		t.Fatalf("on the interpreter the shallow instance is %s: %s", st.Status, st.Error)
	}
}

func startModule(t *testing.T, tn *testNode, mod []byte, name string) Instance {
	t.Helper()
	var up struct{ Digest string }
	if code := do(t, "POST", tn.url+"/v1/modules", bytes.NewReader(mod), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	req, _ := json.Marshal(StartRequest{Module: up.Digest, Args: []string{name}})
	var in Instance
	if code := do(t, "POST", tn.url+"/v1/instances", bytes.NewReader(req), &in); code != 201 {
		t.Fatalf("start: %d %+v", code, in)
	}
	return in
}

// waitOutput waits until the instance's stdout starts with prefix.
func waitOutput(t *testing.T, url, id, prefix string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a hang guard
	for {
		got := logs(t, url, id, "stdout")
		if strings.HasPrefix(got, prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stdout of %s is %q, want it to start with %q", id, got, prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
