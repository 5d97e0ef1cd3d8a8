package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
)

// poolToken is the client token every node and client of these tests
// shares; peerToken the one the nodes present to each other.
const (
	poolToken = "e2e-pool-token"
	peerToken = "e2e-peer-token"
)

// pools holds a peers file per top-level test (in the directory of
// roamBin, removed after the run): the test's nodes, and the proxies and
// stand-ins it migrates through, are one pool.
var pools sync.Map

type poolFile struct {
	sync.Mutex
	file string
}

// joinPool adds url to the pool of t's top-level test and returns the
// pool's peers file, which the nodes read again when it changes.
func joinPool(t testing.TB, url string) string {
	t.Helper()
	root, _, _ := strings.Cut(t.Name(), "/")
	v, _ := pools.LoadOrStore(root, &poolFile{file: filepath.Join(filepath.Dir(roamBin), "peers-"+root)})
	p := v.(*poolFile)
	p.Lock()
	defer p.Unlock()
	f, err := os.OpenFile(p.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, url); err != nil {
		t.Fatal(err)
	}
	return p.file
}

// nodeProc is a `roam node` process on a loopback port.
type nodeProc struct {
	name, dir, url, listen string
	peers                  string // the pool's peers file
	o                      nodeOpts

	mu     sync.Mutex
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

type nodeOpts struct {
	env     []string // extra K=V (ROAM_FAULT=...)
	binary  string   // roam binary; "" means roamBin
	wrapper []string // command to run the binary under (qemu-aarch64-static)
	engine  string   // --engine
	volumes []string // --volume NAME=HOSTPATH each
	args    []string // more flags of roam node
}

// freePort returns a loopback address nothing listens on, so that a node
// restarted after a kill comes back at the same URL.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode starts a node with a data directory of its own and waits until
// it serves. The test's cleanup kills it if it still runs.
func startNode(t testing.TB, name string, o nodeOpts) *nodeProc {
	t.Helper()
	n := &nodeProc{name: name, dir: t.TempDir(), listen: freePort(t), o: o}
	n.url = "http://" + n.listen
	n.peers = joinPool(t, n.url)
	n.start(t)
	t.Cleanup(func() { n.kill() })
	return n
}

// start runs the node process (again) on its directory and port.
func (n *nodeProc) start(t testing.TB) {
	t.Helper()
	bin := n.o.binary
	if bin == "" {
		bin = roamBin
	}
	args := []string{"node", "--data", n.dir, "--listen", n.listen, "--name", n.name, "--peers-file", n.peers}
	if n.o.engine != "" {
		args = append(args, "--engine", n.o.engine)
	}
	for _, v := range n.o.volumes {
		args = append(args, "--volume", v)
	}
	args = append(args, n.o.args...)
	argv := append(append(append([]string{}, n.o.wrapper...), bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cleanEnv(), "ROAM_TOKEN="+poolToken, "ROAM_PEER_TOKEN="+peerToken)
	cmd.Env = append(cmd.Env, n.o.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = &lockedWriter{w: stderr, mu: &n.mu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.cmd, n.stderr, n.done = cmd, stderr, make(chan struct{})
	done := n.done
	n.mu.Unlock()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			ready <- sc.Text()
		}
		for sc.Scan() {
		}
		cmd.Wait()
		close(done)
	}()
	select {
	case url := <-ready:
		if url != n.url {
			t.Fatalf("node %s serves on %s, want %s", n.name, url, n.url)
		}
	case <-done:
		t.Fatalf("node %s exited before serving:\n%s", n.name, n.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s did not serve within 60 s:\n%s", n.name, n.log())
	}
}

// volumeDir makes a new empty directory in the node's volume name and
// returns its host path and how a start request names it.
func (n *nodeProc) volumeDir(t testing.TB, name string) (host, spec string) {
	t.Helper()
	for _, v := range n.o.volumes {
		if vn, root, _ := strings.Cut(v, "="); vn == name {
			dir, err := os.MkdirTemp(root, "dir-")
			if err != nil {
				t.Fatal(err)
			}
			return dir, name + "/" + filepath.Base(dir)
		}
	}
	t.Fatalf("node %s has no volume %s", n.name, name)
	return "", ""
}

func (n *nodeProc) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stderr.String()
}

// kill sends SIGKILL (kill -9) and waits for the process to go.
func (n *nodeProc) kill() { n.signal(syscall.SIGKILL) }

// term sends SIGTERM: the node pauses its instances and keeps them.
func (n *nodeProc) term() { n.signal(syscall.SIGTERM) }

func (n *nodeProc) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// exited waits up to d for the node process to end by itself.
func (n *nodeProc) exited(d time.Duration) bool {
	select {
	case <-n.done:
		return true
	case <-time.After(d):
		return false
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROAM_") {
			env = append(env, kv)
		}
	}
	return append(env, "ROAM_CACHE_DIR="+cacheDir)
}

// cli runs a client command of roam against the node at url.
func cli(t testing.TB, url string, args ...string) result {
	t.Helper()
	return roamWith(t, opts{env: []string{"ROAM_SERVER=" + url, "ROAM_TOKEN=" + poolToken}}, args...)
}

// mustCLI is cli that requires exit 0 and returns stdout without the newline.
func mustCLI(t testing.TB, url string, args ...string) string {
	t.Helper()
	r := cli(t, url, args...)
	if r.code != 0 {
		t.Fatalf("%v\nstdout:\n%s", r, clip(r.stdout))
	}
	return strings.TrimSpace(string(r.stdout))
}

// background runs a client command without waiting for it.
func background(t testing.TB, url string, args ...string) <-chan result {
	t.Helper()
	c := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, roamBin, args...)
		cmd.Env = append(cleanEnv(), "ROAM_SERVER="+url, "ROAM_TOKEN="+poolToken)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		r := result{args: args, stdout: stdout.Bytes(), stderr: stderr.Bytes(), dur: time.Since(start)}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
			r.stderr = append(r.stderr, fmt.Sprint(err)...)
		}
		c <- r
	}()
	return c
}

// wasmPath is the built module of a test program.
func wasmPath(name string) string { return filepath.Join(repoRoot, "testdata", "wasm", name+".wasm") }

// sigterm sends SIGTERM and returns at once; exited and exitCode tell how
// the node ended.
func (n *nodeProc) sigterm() {
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
}

// exitCode is the node process's exit status once it has ended, -1 before
// (or when a signal ended it).
func (n *nodeProc) exitCode() int {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// httpCall sends one raw request to a node, with "Authorization: Bearer
// token" unless token is empty, and follows no redirect.
func httpCall(t testing.TB, method, url, token string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// health is GET /healthz of a node, without a token.
func health(t testing.TB, url string) client.Health {
	t.Helper()
	status, _, body := httpCall(t, http.MethodGet, url+"/healthz", "", nil)
	var h client.Health
	if status != http.StatusOK || json.Unmarshal(body, &h) != nil {
		t.Fatalf("GET %s/healthz: %d %s", url, status, body)
	}
	return h
}

// psJSON is the instance list of a node through `roam ps --json`.
func psJSON(t testing.TB, url string) []client.Instance {
	t.Helper()
	out := mustCLI(t, url, "ps", "--json")
	var list []client.Instance
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("roam ps --json on %s: %v\n%s", url, err, out)
	}
	return list
}

// listed returns the instance id from a node's list.
func listed(list []client.Instance, id string) (client.Instance, bool) {
	for _, in := range list {
		if in.ID == id {
			return in, true
		}
	}
	return client.Instance{}, false
}
