package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
)

// crossBuild is roam built for another architecture, once per test binary,
// into the directory TestMain removes.
type crossBuild struct {
	once sync.Once
	path string
	err  error
}

var crossBuilds = map[string]*crossBuild{"arm64": {}, "riscv64": {}}

// crossRoam builds roam for linux/arch (CGO_ENABLED=0) and returns the
// binary's path.
func crossRoam(arch string) (string, error) {
	b := crossBuilds[arch]
	b.once.Do(func() {
		b.path = filepath.Join(filepath.Dir(roamBin), "roam-"+arch)
		cmd := exec.Command("go", "build", "-o", b.path, "./cmd/roam")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("GOARCH=%s go build ./cmd/roam: %v\n%s", arch, err, out)
		}
	})
	return b.path, b.err
}

// crossArches are the emulated nodes: the qemu user-mode emulator, the
// engine the node must pick by itself, and programs with arguments that
// keep each one running on the amd64 node until the move to the emulated
// node (which compiles the module there first) is done, yet short overall.
//
// Measured on the 2-core machine, not included: the Go guests. Compiling
// go-goroutines (2.5 MB) takes the arm64 node 17 s under qemu; on the
// riscv64 node, loading it takes 5 s and `go-goroutines 1` then runs for
// 8 s under qemu and the interpreter.
//
// direct are programs run on the emulated node alone, with no move: the
// emulated node must compute what `roam run` does before anything moves.
var crossArches = []struct {
	arch, qemu, engine string
	programs, direct   []crossProgram
}{
	// rust-collections on arm64 caught wazero v1.12.0's arm64 rem bug
	// (transform.avoidRemainders).
	{"arm64", "qemu-aarch64-static", "compiler", []crossProgram{
		{"c-sleep", []string{"400"}},          // 8 s, sleeping (its first move compiles under qemu)
		{"c-collections", []string{"40"}},     // 2 s
		{"rust-collections", []string{"120"}}, // 3 s (its first move compiles for 2 s)
	}, []crossProgram{
		{"c-collections", []string{"2"}},
		{"rust-collections", []string{"2"}},
	}},
	{"riscv64", "qemu-riscv64-static", "interpreter", []crossProgram{
		{"c-sleep", []string{"60"}},          // 1.2 s, sleeping
		{"c-collections", []string{"32"}},    // 1.7 s
		{"rust-collections", []string{"60"}}, // 1.5 s
	}, []crossProgram{
		{"c-sleep", []string{"3"}}, // the others take 10-15 s here
	}},
}

type crossProgram struct {
	name string
	args []string
}

// TestCrossISA: a program started on an amd64 node moves live to an arm64
// node (wazero's compiler, under qemu-aarch64-static) and back, and to a
// riscv64 node (wazero's interpreter, under qemu-riscv64-static) and back;
// its stdout, stderr and exit code through `roam wait` and `roam logs` (and
// `roam logs -f` started before the moves) are those of `roam run`.
func TestCrossISA(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("the start node of this test is amd64; this is %s", runtime.GOARCH)
	}
	for _, a := range crossArches {
		if _, err := exec.LookPath(a.qemu); err != nil {
			t.Skipf("%s is not installed (apt-get install qemu-user-static; .ci/run installs it): %v", a.qemu, err)
		}
	}
	// Both builds at once: each is mostly single-threaded linking.
	var wg sync.WaitGroup
	for _, a := range crossArches {
		wg.Add(1)
		go func() { defer wg.Done(); crossRoam(a.arch) }()
	}
	began := time.Now()
	wg.Wait()
	t.Logf("cross builds: %v", time.Since(began).Round(time.Millisecond))

	ps, _ := programs(t)
	for _, a := range crossArches {
		t.Run(a.arch, func(t *testing.T) {
			bin, err := crossRoam(a.arch)
			if err != nil {
				t.Fatal(err)
			}
			x := startNode(t, "x86", nodeOpts{})
			began := time.Now()
			e := startNode(t, a.arch, nodeOpts{binary: bin, wrapper: []string{a.qemu}})
			t.Logf("%s node up after %v", a.arch, time.Since(began).Round(time.Millisecond))
			if h := health(t, x.url); h.Arch != "amd64" || h.Engine != "compiler" {
				t.Errorf("amd64 node: /healthz %+v, want arch amd64, engine compiler", h)
			}
			if h := health(t, e.url); h.Arch != a.arch || h.Engine != a.engine {
				t.Fatalf("%s node: /healthz %+v, want arch %s, engine %s", a.arch, h, a.arch, a.engine)
			}
			for _, cp := range a.direct {
				t.Run("direct/"+cp.name, func(t *testing.T) {
					p := find(t, ps, cp.name)
					ref := nodeReference(t, p, cp.args)
					id := mustCLI(t, e.url, append([]string{"start", p.path}, cp.args...)...)
					w := cli(t, e.url, "wait", id)
					l := cli(t, e.url, "logs", id)
					sameOutcome(t, "run on the "+a.arch+" node", outcome{stdout: ref.stdout, stderr: ref.stderr, code: ref.code},
						outcome{stdout: l.stdout, stderr: l.stderr, code: w.code})
				})
			}
			for _, cp := range a.programs {
				t.Run(cp.name, func(t *testing.T) {
					roundTrip(t, find(t, ps, cp.name), cp.args, x, e)
				})
			}
		})
	}
}

// roundTrip starts the program on node x, moves it to e and back to x, and
// compares the run with `roam run`.
func roundTrip(t *testing.T, p program, args []string, x, e *nodeProc) {
	ref := nodeReference(t, p, args)
	id := mustCLI(t, x.url, append([]string{"start", p.path}, args...)...)
	follow := background(t, x.url, "logs", "-f", id)
	began := time.Now()
	time.Sleep(100 * time.Millisecond)
	for i, to := range []*nodeProc{e, x} {
		if i == 1 {
			time.Sleep(300 * time.Millisecond) // let it run on e
		}
		t0 := time.Now()
		r := cli(t, x.url, "migrate", id, "--to", to.url) // x redirects to e for the way back
		if r.code != 0 {
			t.Fatalf("move %d, to %s, %v after the start: %v\n(if the program ended first, give it more work: args)", i+1, to.name, time.Since(began).Round(time.Millisecond), r)
		}
		line := strings.TrimSpace(string(r.stdout))
		if m := migratedRE.FindStringSubmatch(line); m == nil || m[1] != id || m[2] != to.url {
			t.Errorf("move %d, to %s: summary line %q", i+1, to.name, line)
		}
		t.Logf("to %s: %s (%v)", to.name, line, time.Since(t0).Round(time.Millisecond))
	}

	w := cli(t, e.url, "wait", id) // e redirects to x
	if w.code != ref.code {
		t.Errorf("wait (through %s): exit %d, want %d\n%v", e.name, w.code, ref.code, w)
	}
	l := cli(t, e.url, "logs", id)
	if l.code != 0 {
		t.Errorf("logs: %v", l)
	}
	sameOutcome(t, "logs (through "+e.name+")", outcome{stdout: ref.stdout, stderr: ref.stderr}, outcome{stdout: l.stdout, stderr: l.stderr})
	select {
	case f := <-follow:
		if f.code != 0 {
			t.Errorf("logs -f: %v", f)
		}
		sameOutcome(t, "logs -f (started before the moves)", outcome{stdout: ref.stdout, stderr: ref.stderr}, outcome{stdout: f.stdout, stderr: f.stderr})
	case <-time.After(30 * time.Second):
		t.Errorf("logs -f still runs 30 s after the instance ended")
	}
	in, ok := listed(psJSON(t, x.url), id)
	if !ok || in.Status != client.StatusExited || in.ExitCode != ref.code || in.Epoch != 3 || in.Migrations != 2 {
		t.Errorf("ps --json on %s: %s listed %v, status %s exit %d epoch %d migrations %d; want exited, exit %d, epoch 3, migrations 2",
			x.name, id, ok, in.Status, in.ExitCode, in.Epoch, in.Migrations, ref.code)
	}
	if _, ok := listed(psJSON(t, e.url), id); ok {
		t.Errorf("ps on %s still lists %s, which moved back to %s", e.name, id, x.name)
	}
	if !bytes.Contains(l.stdout, []byte("done checksum")) {
		t.Errorf("the run did not finish: %s", clip(l.stdout))
	}
}
