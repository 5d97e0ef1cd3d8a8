package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
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
// `roam logs -f` started before the moves), asked of the amd64 node, are
// those of `roam run`.
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
					p := find(t, ps, cp.name)
					moveAround(t, p, cp.args, nodeReference(t, p, cp.args), x, []*nodeProc{e, x}, 300*time.Millisecond, 2)
				})
			}
		})
	}
}
