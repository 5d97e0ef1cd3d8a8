package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-edge/roam/internal/engine"
)

func status(t *testing.T, url, id string) Instance {
	t.Helper()
	var in Instance
	if code := do(t, "GET", url+"/v1/instances/"+id, nil, &in); code != 200 {
		t.Fatalf("get %s: %d", id, code)
	}
	return in
}

// silentListener accepts connections and never answers on them.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	u := "http://" + ln.Addr().String()
	joinTestPool(t, u)
	return u
}

// TestStalledDestinationAtBegin: a destination that accepts TCP and never
// answers fails the move within the begin patience; the instance never
// stopped running.
func TestStalledDestinationAtBegin(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) {
		c.PeerTimeout, c.BeginTimeout = 500*time.Millisecond, time.Second
	})
	in := startModule(t, a, deepGuest(1), "sleeper.wasm")
	waitOutput(t, a.url, in.ID, "deep\ntick\n")
	_, err := migrate(t, a.url, in.ID, silentListener(t))
	if err == nil || !strings.Contains(err.Error(), "no progress") || !strings.Contains(err.Error(), "still runs on the source") {
		t.Fatalf("migrate to a silent node: %v, want a migration_failed for lack of progress", err)
	}
	checkGoesOn(t, a, in.ID)
}

// checkGoesOn checks that the sleeper runs on here, output intact.
func checkGoesOn(t *testing.T, tn *testNode, id string) {
	t.Helper()
	if st := status(t, tn.url, id); st.Status != statusRunning || st.Node != tn.Name() {
		t.Fatalf("after the failed move the instance is %s on %s, want running on %s", st.Status, st.Node, tn.Name())
	}
	before := logs(t, tn.url, id, "stdout")
	if strings.ReplaceAll(before, "tick\n", "") != "deep\n" {
		t.Fatalf("output %q: want deep then ticks", before)
	}
	waitOutput(t, tn.url, id, before+"tick\n")
}

// TestStalledDestinationAtPrepare: a destination that takes the begin and
// the pre-copy but never answers the final state (the guest is paused by
// then) fails the move after the peer timeout, and the guest runs on at the
// source.
func TestStalledDestinationAtPrepare(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) { c.PeerTimeout = 500 * time.Millisecond })
	b := startNode(t, "b", t.TempDir())
	target, _ := url.Parse(b.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	stuck := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/prepare") {
			<-stuck // never reads the body nor answers
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	joinTestPool(t, "http://"+ln.Addr().String())
	t.Cleanup(func() {
		close(stuck)
		srv.Close()
	})

	in := startModule(t, a, deepGuest(1), "sleeper.wasm")
	waitOutput(t, a.url, in.ID, "deep\ntick\n")
	_, err = migrate(t, a.url, in.ID, "http://"+ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "stop-and-copy") || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("migrate to a node that stalls at prepare: %v, want a stop-and-copy failure for lack of progress", err)
	}
	checkGoesOn(t, a, in.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(b.list()) != 0 || b.incomingCount() != 0 { // the abort reached b
		if ctx.Err() != nil {
			t.Fatalf("b still holds the aborted migration")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *Node) incomingCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.incoming)
}

// zeroModule is a body of size bytes that starts like a Wasm module.
type zeroModule struct{ off, size int64 }

func (z *zeroModule) Read(p []byte) (int, error) {
	if z.off >= z.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.size-z.off))
	clear(p[:n])
	if z.off < 8 {
		copy(p[:n], "\x00asm\x01\x00\x00\x00"[z.off:])
	}
	z.off += int64(n)
	return n, nil
}

// TestModuleUploadStreamedAndCapped: an upload goes to disk as it arrives
// (the node allocates far less than its size), and one over
// --max-module-size is refused with too_large and leaves nothing behind.
func TestModuleUploadStreamedAndCapped(t *testing.T) {
	dir := t.TempDir()
	a := startNodeWith(t, "a", dir, func(c *Config) { c.MaxModuleBytes = 40 << 20 })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var up struct {
		Digest string
		Size   int64
	}
	if code := do(t, "POST", a.url+"/v1/modules", &zeroModule{size: 32 << 20}, &up); code != 200 || up.Size != 32<<20 {
		t.Fatalf("upload 32 MiB: %d %+v", code, up)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 12<<20 {
		t.Errorf("uploading 32 MiB allocated %d MiB: the body was buffered", alloc>>20)
	}
	var body struct{ Error *APIError }
	code := do(t, "POST", a.url+"/v1/modules", &zeroModule{size: 41 << 20}, &body)
	if code != http.StatusRequestEntityTooLarge || body.Error == nil || body.Error.Code != codeTooLarge ||
		!strings.Contains(body.Error.Message, "--max-module-size") {
		t.Fatalf("upload over the limit: %d %+v, want 413 too_large", code, body.Error)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "modules", "*"))
	if len(files) != 1 || filepath.Base(files[0]) != up.Digest+".wasm" {
		t.Fatalf("module store holds %v, want only the accepted module", files)
	}
}

// TestModuleFetchCapped: a migration destination fetches the module from
// the source through the same capped path.
func TestModuleFetchCapped(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	b := startNodeWith(t, "b", t.TempDir(), func(c *Config) { c.MaxModuleBytes = 1 << 20 })
	var up struct{ Digest string }
	if code := do(t, "POST", a.url+"/v1/modules", &zeroModule{size: 2 << 20}, &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	begin, _ := json.Marshal(beginRequest{Migration: "m-big", Source: a.url,
		Record: record{Instance: Instance{ID: "i-big", Module: up.Digest, Name: "big.wasm", Args: []string{"big.wasm"}, Epoch: 2}}})
	var body struct{ Error *APIError }
	code := do(t, "POST", b.url+"/v1/migrations", bytes.NewReader(begin), &body)
	if code != http.StatusRequestEntityTooLarge || body.Error == nil || body.Error.Code != codeTooLarge {
		t.Fatalf("begin with a module over b's limit: %d %+v, want 413 too_large", code, body.Error)
	}
	if b.rt.Store().Has(mustDigest(t, up.Digest)) {
		t.Fatal("b stored the module over its limit")
	}
}

func mustDigest(t *testing.T, s string) engine.Digest {
	t.Helper()
	d, err := parseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// metric reads one counter or gauge of the node's /metrics.
func metric(t *testing.T, tn *testNode, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(fetch(t, tn.url+"/metrics")), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestParallelFirstStartsCompileOnce: instances of a fresh module started
// all at once share one compile.
func TestParallelFirstStartsCompileOnce(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	var up struct{ Digest string }
	if code := do(t, "POST", a.url+"/v1/modules", bytes.NewReader(fixture(t, "c-exit")), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	const n = 8
	ids := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			body, _ := json.Marshal(StartRequest{Module: up.Digest, Args: []string{"c-exit.wasm", "1"}})
			req, _ := http.NewRequest("POST", a.url+"/v1/instances", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var in Instance
			if err := json.NewDecoder(resp.Body).Decode(&in); err != nil || resp.StatusCode != 201 {
				errs <- fmt.Errorf("start: %s %v", resp.Status, err)
				return
			}
			ids <- in.ID
		}()
	}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case id := <-ids:
			if end := wait(t, a.url, id); end.ExitCode != 7 {
				t.Fatalf("instance %s: exit %d %s", id, end.ExitCode, end.Error)
			}
		}
	}
	if got := metric(t, a, "roam_module_compiles_total"); got != 1 {
		t.Fatalf("roam_module_compiles_total = %v after %d parallel first starts, want 1", got, n)
	}
}

// getLog reads a log from offset and the offset its answer starts at.
func getLog(t *testing.T, url, id string, offset int64) (int64, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/instances/%s/stdout?offset=%d", url, id, offset), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stdout: %s %v", resp.Status, err)
	}
	start, err := strconv.ParseInt(resp.Header.Get("Roam-Log-Offset"), 10, 64)
	if err != nil {
		t.Fatalf("Roam-Log-Offset %q", resp.Header.Get("Roam-Log-Offset"))
	}
	return start, b
}

// checkChatty checks a log's kept bytes: from its oldest kept byte to the
// end of the guest's output, within the cap, with the guest's bytes.
func checkChatty(t *testing.T, tn *testNode, id string, total, limit int64) {
	t.Helper()
	start, b := getLog(t, tn.url, id, 0)
	if start <= 0 || start+int64(len(b)) != total || int64(len(b)) > limit || int64(len(b)) < limit/2 {
		t.Fatalf("%s: log from 0 answers %d bytes from offset %d; want the last %d..%d of %d", tn.Name(), len(b), start, limit/2, limit, total)
	}
	for i, c := range b {
		if c != chattyByte(start+int64(i)) {
			t.Fatalf("%s: byte at offset %d is %d, want %d", tn.Name(), start+int64(i), c, chattyByte(start+int64(i)))
		}
	}
	at, tail := getLog(t, tn.url, id, total-100)
	if at != total-100 || len(tail) != 100 || tail[0] != chattyByte(total-100) {
		t.Fatalf("%s: log from %d answers %d bytes from %d", tn.Name(), total-100, len(tail), at)
	}
	var disk int64
	files, _ := filepath.Glob(filepath.Join(tn.cfg.Dir, "instances", id, "stdout*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && !strings.HasSuffix(f, ".base") {
			disk += fi.Size()
		}
	}
	if disk > limit {
		t.Fatalf("%s: stdout files hold %d bytes, over the cap of %d", tn.Name(), disk, limit)
	}
}

// TestLogCapRotation: a guest writes 2.5 MiB to a node that keeps 256 KiB a
// stream: the files stay under the cap, reads keep the stream's offsets
// (a read from 0 starts at the oldest byte kept and says so), and a move
// takes the kept bytes at their offsets.
func TestLogCapRotation(t *testing.T) {
	const limit, blocks = 256 << 10, 40
	total := int64(blocks) << 16
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) { c.MaxLogBytes = limit })
	b := startNodeWith(t, "b", t.TempDir(), func(c *Config) { c.MaxLogBytes = limit })
	in := startModule(t, a, chattyGuest(blocks), "chatty.wasm")
	deadline := time.Now().Add(time.Minute) // a hang guard
	for {
		if _, tail := getLog(t, a.url, in.ID, total-1); len(tail) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the guest did not write its output")
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkChatty(t, a, in.ID, total, limit)
	if _, err := migrate(t, a.url, in.ID, b.url); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	checkChatty(t, b, in.ID, total, limit)
	b.stop() // and a restart finds the offsets again
	b = startNodeWith(t, "b", b.cfg.Dir, func(c *Config) { c.MaxLogBytes = limit })
	checkChatty(t, b, in.ID, total, limit)
}

// TestFinishedInstancesPruned: an instance that ended is forgotten after
// --keep-finished, directory and all, and wait on it answers not_found; a
// running one stays.
func TestFinishedInstancesPruned(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) { c.KeepFinished = 200 * time.Millisecond })
	done := a.startProgram(t, "c-exit", "1")
	if end := wait(t, a.url, done.ID); end.ExitCode != 7 {
		t.Fatalf("exit %d", end.ExitCode)
	}
	running := startModule(t, a, deepGuest(1), "sleeper.wasm")
	deadline := time.Now().Add(time.Minute) // a hang guard
	for {
		var body struct{ Error json.RawMessage }
		code := do(t, "GET", a.url+"/v1/instances/"+done.ID+"/wait", nil, &body)
		if code == http.StatusNotFound {
			var ae APIError
			if json.Unmarshal(body.Error, &ae) != nil || ae.Code != codeNotFound || !strings.Contains(ae.Message, "forgotten") {
				t.Fatalf("wait on a pruned instance: %s", body.Error)
			}
			// The directory goes right after the instance leaves the list.
			if _, err := os.Stat(a.instanceDir(done.ID)); os.IsNotExist(err) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finished instance was never pruned, or its directory is still there")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond) // two retention periods: the running one stays
	if st := status(t, a.url, running.ID); st.Status != statusRunning {
		t.Fatalf("the running instance is %s", st.Status)
	}
}

// TestModuleGarbageCollection: a module no instance may run again goes
// after its grace period with its instrumented and compiled code; one a
// running instance uses stays. (The collection is called here with a
// cutoff rather than waited for.)
func TestModuleGarbageCollection(t *testing.T) {
	dir := t.TempDir()
	a := startNodeWith(t, "a", dir, func(c *Config) { c.ModuleGrace = -1 })
	ended := a.startProgram(t, "c-exit", "1")
	if end := wait(t, a.url, ended.ID); end.ExitCode != 7 {
		t.Fatalf("exit %d", end.ExitCode)
	}
	running := startModule(t, a, deepGuest(1), "sleeper.wasm")
	made, _ := filepath.Glob(filepath.Join(dir, "instrumented", ended.Module+"*"))
	index, err := os.ReadFile(filepath.Join(dir, "instrumented", ended.Module+".compiled"))
	if len(made) < 2 || err != nil {
		t.Fatalf("no instrumented module and compiled index for %s: %v %v", ended.Module, made, err)
	}
	for _, f := range strings.Fields(string(index)) {
		made = append(made, filepath.Join(dir, "compiled", f))
	}
	a.collectModules(time.Now().Add(-time.Hour)) // within the grace period: kept
	if !a.rt.Store().Has(mustDigest(t, ended.Module)) {
		t.Fatal("a module used within the grace period was deleted")
	}
	a.collectModules(time.Now().Add(time.Second)) // past it
	if a.rt.Store().Has(mustDigest(t, ended.Module)) {
		t.Fatal("the unused module was not deleted")
	}
	for _, f := range made {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	if !a.rt.Store().Has(mustDigest(t, running.Module)) {
		t.Fatal("the module of a running instance was deleted")
	}
	// A start of the deleted module asks for an upload, and one of the
	// kept module compiles no more.
	var body struct{ Error *APIError }
	req, _ := json.Marshal(StartRequest{Module: ended.Module, Args: []string{"c-exit.wasm", "1"}})
	if code := do(t, "POST", a.url+"/v1/instances", bytes.NewReader(req), &body); body.Error == nil || body.Error.Code != codeModuleNotFound {
		t.Fatalf("start of a deleted module: %d %+v", code, body.Error)
	}
	compiles := metric(t, a, "roam_module_compiles_total")
	again := startModule(t, a, deepGuest(1), "sleeper.wasm")
	if got := metric(t, a, "roam_module_compiles_total"); got != compiles || status(t, a.url, again.ID).Status != statusRunning {
		t.Fatalf("a second instance of the kept module: %v compiles, was %v", got, compiles)
	}
}

// TestModuleGraceFromFlag: with a short --module-grace the node deletes an
// uploaded module nobody started by itself.
func TestModuleGraceFromFlag(t *testing.T) {
	a := startNodeWith(t, "a", t.TempDir(), func(c *Config) { c.ModuleGrace = 100 * time.Millisecond })
	var up struct{ Digest string }
	if code := do(t, "POST", a.url+"/v1/modules", bytes.NewReader(fixture(t, "c-exit")), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	deadline := time.Now().Add(time.Minute) // a hang guard
	for a.rt.Store().Has(mustDigest(t, up.Digest)) {
		if time.Now().After(deadline) {
			t.Fatal("the unused module was never deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStalledSourceMidRound: a source that stops sending in the middle of
// a pre-copy round does not hold the destination's migration for ever:
// the destination gives the round up after the peer timeout and drops it.
func TestStalledSourceMidRound(t *testing.T) {
	a := startNode(t, "a", t.TempDir())
	b := startNodeWith(t, "b", t.TempDir(), func(c *Config) { c.PeerTimeout = 500 * time.Millisecond })
	var up struct{ Digest string }
	if code := do(t, "POST", a.url+"/v1/modules", bytes.NewReader(fixture(t, "c-sleep")), &up); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	begin, _ := json.Marshal(beginRequest{Migration: "m-stall", Source: a.url,
		Record: record{Instance: Instance{ID: "i-stall", Module: up.Digest, Name: "c-sleep.wasm", Args: []string{"c-sleep.wasm"}, Epoch: 2}}})
	if code := do(t, "POST", b.url+"/v1/migrations", bytes.NewReader(begin), nil); code != 200 {
		t.Fatalf("begin: %d", code)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v1/migrations/m-stall/memory HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer %s\r\n"+
		"Content-Length: 100000\r\nRoam-Logs-Crc32c: 0\r\nRoam-Stdout-Length: 10\r\nRoam-Stderr-Length: 0\r\n\r\nabc", testToken)
	deadline := time.Now().Add(time.Minute) // a hang guard
	for b.incomingCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("b still holds the migration whose source stalled")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
