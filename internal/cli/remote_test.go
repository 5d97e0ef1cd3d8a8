package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/roam-edge/roam/client"
)

const fakeToken = "tok"

// fakeNode speaks the node API of docs/api.md for one instance, i-1, and
// records what it was asked.
type fakeNode struct {
	*httptest.Server
	wait       client.Instance // what wait answers
	migrateOut string          // the NDJSON migrate answers

	mu      sync.Mutex
	modules map[string][]byte
	start   *client.StartRequest
	to      string
	queries []string
}

func newFakeNode(t *testing.T) *fakeNode {
	n := &fakeNode{
		modules:    map[string][]byte{},
		wait:       client.Instance{ID: "i-1", Status: client.StatusExited},
		migrateOut: `{"event":"round","round":1,"bytes":1048576,"chunks":16}` + "\n" + `{"event":"done","result":{"id":"i-1","to":"http://node-b:7474","epoch":2,"downtime_ms":4.2,"total_ms":130.5,"bytes":67240000,"rounds":3}}` + "\n",
	}
	n.Server = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.Close)
	return n
}

func (n *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong token")
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queries = append(n.queries, r.Method+" "+r.URL.RequestURI())
	route := r.Method + " " + r.URL.Path
	switch {
	case strings.HasPrefix(route, "HEAD /v1/modules/"):
		w.WriteHeader(map[bool]int{true: 200, false: 404}[n.modules[strings.TrimPrefix(r.URL.Path, "/v1/modules/")] != nil])
	case route == "POST /v1/modules":
		b, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(b)
		n.modules[hex.EncodeToString(sum[:])] = b
		writeAPIJSON(w, 200, map[string]any{"digest": hex.EncodeToString(sum[:]), "size": len(b)})
	case route == "POST /v1/instances":
		n.start = &client.StartRequest{}
		json.NewDecoder(r.Body).Decode(n.start)
		writeAPIJSON(w, 201, client.Instance{ID: "i-1", Status: client.StatusRunning})
	case route == "POST /v1/instances/restore":
		writeAPIJSON(w, 201, client.Instance{ID: "i-2", Status: client.Status(map[string]string{"1": "paused", "": "running"}[r.URL.Query().Get("paused")])})
	case route == "GET /v1/instances":
		writeAPIJSON(w, 200, map[string]any{"instances": []client.Instance{{ID: "i-1", Status: client.StatusRunning, Name: "prog.wasm", Epoch: 2}, n.wait}})
	case strings.HasPrefix(r.URL.Path, "/v1/instances/i-1"):
		n.serveInstance(w, r, strings.TrimPrefix(r.URL.Path, "/v1/instances/i-1"))
	default:
		writeAPIError(w, 404, "not_found", "instance "+strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/instances/"), "/")[0]+" not found")
	}
}

func (n *fakeNode) serveInstance(w http.ResponseWriter, r *http.Request, action string) {
	switch action {
	case "", "/wait":
		writeAPIJSON(w, 200, n.wait)
	case "/stdout", "/stderr":
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		io.WriteString(w, (strings.TrimPrefix(action, "/") + " of i-1\n")[off:])
	case "/pause", "/resume", "/stop":
		status := map[string]client.Status{"/pause": "paused", "/resume": "running", "/stop": "stopped"}[action]
		writeAPIJSON(w, 200, client.Instance{ID: "i-1", Status: status, ExitCode: map[bool]int{true: 143}[status == "stopped"]})
	case "/snapshot":
		io.WriteString(w, "SNAPSHOT")
	case "/migrate":
		var body struct{ To string }
		json.NewDecoder(r.Body).Decode(&body)
		n.to = body.To
		io.WriteString(w, n.migrateOut)
	}
}

// locked runs f with the node's lock held, for the test's reads and writes
// of what the handlers use.
func (n *fakeNode) locked(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f()
}

func writeAPIJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeAPIJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// roam runs the CLI in-process.
func roam(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGlobalFlagsBeforeOrWithSubcommand(t *testing.T) {
	n := newFakeNode(t)
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"--server", n.URL, "--token", fakeToken, "stop", "i-1"}, "i-1 stopped (exit 143)\n"},
		{[]string{"stop", "i-1", "--server", n.URL, "--token", fakeToken}, "i-1 stopped (exit 143)\n"},
		{[]string{"--server=" + n.URL, "stop", "--token=" + fakeToken, "i-1"}, "i-1 stopped (exit 143)\n"},
		{[]string{"--token", fakeToken, "restore", filepath.Join("testdata", "none"), "--server", n.URL}, ""},
	} {
		code, out, errs := roam(tc.args...)
		if tc.out == "" {
			// restore fails on the missing file before any call: the
			// global flags were still parsed.
			if code != ExitFailure || !strings.Contains(errs, "no such file") {
				t.Errorf("%q: exit %d, stderr %q", tc.args, code, errs)
			}
			continue
		}
		if code != 0 || out != tc.out {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.args, code, out, errs)
		}
	}
	t.Setenv("ROAM_SERVER", strings.TrimPrefix(n.URL, "http://"))
	t.Setenv("ROAM_TOKEN", fakeToken)
	if code, out, errs := roam("ps"); code != 0 || !strings.Contains(out, "i-1") {
		t.Errorf("ps from ROAM_SERVER and ROAM_TOKEN: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := roam("ps", "--token", "wrong"); code != ExitFailure || errs != "roam: ps: missing or wrong token\n" {
		t.Errorf("wrong token: exit %d, stderr %q", code, errs)
	}
}

func TestStartArgsAfterModuleUntouched(t *testing.T) {
	n := newFakeNode(t)
	mod := filepath.Join(t.TempDir(), "prog.wasm")
	if err := os.WriteFile(mod, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	guest := []string{"--env", "B=2", "-x", "--server", "nope", "--", "--migratable=true"}
	args := append([]string{"--server", n.URL, "start", "--token", fakeToken, "--env", "A=1", "--dir", "data/in:/data",
		"--migratable=false", mod}, guest...)
	code, out, errs := roam(args...)
	if code != 0 || out != "i-1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	var got *client.StartRequest
	var uploaded bool
	n.locked(func() { got, uploaded = n.start, n.modules[n.start.Module] != nil })
	if !slices.Equal(got.Args, append([]string{mod}, guest...)) || !slices.Equal(got.Env, []string{"A=1"}) ||
		!slices.Equal(got.Dirs, []string{"data/in:/data"}) || got.Migratable == nil || *got.Migratable {
		t.Fatalf("start request %+v", got)
	}
	if !uploaded {
		t.Fatalf("module %s was not uploaded", got.Module)
	}
}

func TestFlagsBeforeOrAfterID(t *testing.T) {
	n := newFakeNode(t)
	const summary = "migrated i-1 to http://node-b:7474: downtime=4.20ms total=130.50ms sent=67240000B rounds=3\n"
	for _, args := range [][]string{
		{"migrate", "i-1", "--to", "node-b:7474"},
		{"migrate", "--to", "node-b:7474", "i-1"},
		{"migrate", "--to=node-b:7474", "i-1", "--server", n.URL},
	} {
		code, out, errs := roam(append([]string{"--server", n.URL, "--token", fakeToken}, args...)...)
		var to string
		n.locked(func() { to = n.to })
		if code != 0 || out != summary || errs != "" || to != "http://node-b:7474" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, to %q", args, code, out, errs, to)
		}
	}
	for _, args := range [][]string{{"logs", "i-1", "-f"}, {"logs", "--follow", "i-1"}, {"logs", "i-1"}} {
		code, out, errs := roam(append([]string{"--server", n.URL, "--token", fakeToken}, args...)...)
		if code != 0 || out != "stdout of i-1\n" || errs != "stderr of i-1\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

func TestMigrateFailure(t *testing.T) {
	n := newFakeNode(t)
	n.locked(func() {
		n.migrateOut = `{"event":"error","error":{"code":"migration_failed","message":"node-b lacks /data"}}` + "\n"
	})
	code, out, errs := roam("--server", n.URL, "--token", fakeToken, "migrate", "i-1", "--to", "node-b:7474")
	if code != ExitFailure || out != "" || errs != "roam: migrate i-1: node-b lacks /data\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestWaitExitCode(t *testing.T) {
	n := newFakeNode(t)
	for _, tc := range []struct {
		in     client.Instance
		code   int
		stderr string
	}{
		{client.Instance{Status: client.StatusExited}, 0, ""},
		{client.Instance{Status: client.StatusExited, ExitCode: 3}, 3, ""},
		{client.Instance{Status: client.StatusExited, ExitCode: 134, Error: "wasm trap: unreachable\n  main.f()"}, 134, "wasm trap: unreachable\n  main.f()\n"},
		{client.Instance{Status: client.StatusFailed, ExitCode: 1, Error: "dir /data missing"}, 1, "roam: instance i-1 failed: dir /data missing\n"},
		{client.Instance{Status: client.StatusStopped, ExitCode: 143}, 143, ""},
	} {
		tc.in.ID = "i-1"
		n.locked(func() { n.wait = tc.in })
		code, _, errs := roam("--server", n.URL, "--token", fakeToken, "wait", "i-1")
		if code != tc.code || errs != tc.stderr {
			t.Errorf("%s %d: exit %d, stderr %q; want %d, %q", tc.in.Status, tc.in.ExitCode, code, errs, tc.code, tc.stderr)
		}
	}
}

func TestClientUsageErrors(t *testing.T) {
	n := newFakeNode(t)
	for _, args := range [][]string{
		{"migrate", "i-1"},
		{"stop"},
		{"stop", "i-1", "i-2"},
		{"start"},
		{"start", "--env", "NOEQUALS", "prog.wasm"},
		{"start", "--dir", "/etc:/host", "prog.wasm"}, // a host path: nodes expose volumes
		{"start", "--dir", "data/../..:/x", "prog.wasm"},
		{"checkpoint", "i-1"},
		{"ps", "--bogus"},
		{"ps", "extra"},
		{"resume", "i-1", "--engine", "interpreter"},
		{"--server", "ftp://node-a", "ps"},
	} {
		code, _, errs := roam(append([]string{"--server", n.URL, "--token", fakeToken}, args...)...)
		if code != ExitUsage || !strings.Contains(errs, "roam: ") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}

func TestUnreachableNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, _, errs := roam("--server", addr, "stop", "i-1")
	want := "roam: stop i-1: cannot reach node http://" + addr + ": "
	if code != ExitFailure || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want one line starting %q", code, errs, want)
	}
}

func TestLifecycleCheckpointRestore(t *testing.T) {
	n := newFakeNode(t)
	snap := filepath.Join(t.TempDir(), "i-1.snap")
	for _, tc := range []struct{ args, out string }{
		{"pause i-1", "i-1 paused\n"},
		{"resume i-1", "i-1 running\n"},
		{"stop i-1", "i-1 stopped (exit 143)\n"},
		{"checkpoint i-1 -o " + snap, ""},
		{"restore --paused " + snap, "i-2\n"},
		{"ps --json", ""},
	} {
		code, out, errs := roam(append([]string{"--server", n.URL, "--token", fakeToken}, strings.Fields(tc.args)...)...)
		if code != 0 || (tc.out != "" && out != tc.out) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.args, code, out, errs)
		}
	}
	if b, err := os.ReadFile(snap); err != nil || string(b) != "SNAPSHOT" {
		t.Fatalf("checkpoint file: %q, %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(snap), ".*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
	var queries []string
	n.locked(func() { queries = n.queries })
	if !slices.Contains(queries, "POST /v1/instances/restore?paused=1") {
		t.Fatalf("restore not asked paused: %v", queries)
	}
}

func TestPsTable(t *testing.T) {
	n := newFakeNode(t)
	n.locked(func() {
		n.wait = client.Instance{ID: "i-0", Status: client.StatusStopped, ExitCode: 143, Name: "old.wasm", Epoch: 1}
	})
	code, out, _ := roam("--server", n.URL, "--token", fakeToken, "ps")
	want := "ID   STATUS   EXIT  EPOCH  NAME       AGE\n" +
		"i-1  running  -     2      prog.wasm  -\n" +
		"i-0  stopped  143   1      old.wasm   -\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s", code, out, want)
	}
	code, out, _ = roam("--server", n.URL, "--token", fakeToken, "ps", "--json")
	var list []client.Instance
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 2 || list[1].ExitCode != 143 {
		t.Fatalf("exit %d, json %v: %s", code, err, out)
	}
}

// TestUnknownCommand: an unknown subcommand is a usage error (exit 2) with
// cobra's message, suggestions included.
func TestUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"frobnicate"}, "roam: unknown command \"frobnicate\" for \"roam\"\n"},
		{[]string{"strat", "x.wasm"}, "roam: unknown command \"strat\" for \"roam\"\n\nDid you mean this?\n\tstart\n"},
		{[]string{"--server", "http://127.0.0.1:1", "frobnicate"}, "roam: unknown command \"frobnicate\" for \"roam\"\n"},
	} {
		code, out, errs := roam(tc.args...)
		if code != ExitUsage || out != "" || errs != tc.stderr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.stderr)
		}
	}
	if code, out, _ := roam(); code != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("roam without arguments: exit %d, stdout %q; want the help", code, out)
	}
}
