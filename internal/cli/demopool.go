package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// demoNode is one node agent process of the demo's local continuum.
type demoNode struct {
	name, arch, url string
	emulated        bool
	cmd             *exec.Cmd
	done            chan struct{}
}

func (n *demoNode) label() string {
	if n.emulated {
		return fmt.Sprintf("%s (%s, qemu)", n.name, n.arch)
	}
	return fmt.Sprintf("%s (%s)", n.name, n.arch)
}

type demoPool struct{ nodes []*demoNode }

// demoTokens are the pool's client token and the token its nodes present
// to each other.
type demoTokens struct{ client, peer string }

// startPool starts the native nodes and, when it can, an arm64 one.
func (s *streams) startPool(ctx context.Context, dir, token string, f demoFlags) (*demoPool, error) {
	self, err := os.Executable()
	if err != nil {
		return &demoPool{}, err
	}
	pool := &demoPool{}
	// The nodes are one pool: a peers file each joins once it serves
	// (nodes read it again when it changes), and one peer token.
	if err := os.WriteFile(filepath.Join(dir, "peers"), nil, 0o600); err != nil {
		return pool, err
	}
	tokens := demoTokens{client: token, peer: newDemoToken()}
	for i := 1; i <= f.nodes; i++ {
		n, err := startDemoNode(ctx, []string{self}, fmt.Sprintf("edge-%d", i), runtime.GOARCH, dir, tokens)
		if err != nil {
			return pool, err
		}
		pool.nodes = append(pool.nodes, n)
	}
	if f.arm64 && runtime.GOARCH != "arm64" {
		if argv, why := s.arm64Node(ctx, dir); argv == nil {
			fmt.Fprintf(s.stderr, "roam demo: no arm64 node: %s\n", why)
		} else if n, err := startDemoNode(ctx, argv, "arm-1", "arm64", dir, tokens); err != nil {
			fmt.Fprintf(s.stderr, "roam demo: no arm64 node: %v\n", err)
		} else {
			n.emulated = true
			// Second in the ring, so that the first hop crosses ISAs.
			pool.nodes = append(pool.nodes[:1], append([]*demoNode{n}, pool.nodes[1:]...)...)
		}
	}
	for _, n := range pool.nodes {
		fmt.Fprintf(s.stderr, "roam demo: node %s at %s\n", n.label(), n.url)
	}
	return pool, nil
}

// arm64Node cross-builds roam for arm64 (Go's build cache makes it quick
// after the first time) and returns how to run it under qemu, or why not.
func (s *streams) arm64Node(ctx context.Context, dir string) ([]string, string) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		return nil, "qemu-aarch64-static is not installed (apt-get install qemu-user-static)"
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, "the go command is not on PATH to cross-build roam"
	}
	out := filepath.Join(dir, "roam-arm64")
	fmt.Fprintln(s.stderr, "roam demo: building roam for arm64 (once; Go caches it)...")
	build := exec.CommandContext(ctx, gobin, "build", "-o", out, "github.com/roam-edge/roam/cmd/roam")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("cross-build failed (run the demo from the repository): %v: %s", err, firstLine(msg))
	}
	return []string{qemu, out}, ""
}

func firstLine(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}

// startDemoNode runs `roam node` on a free loopback port and waits until it
// serves (its first stdout line is its URL), then adds it to the pool's
// peers file.
func startDemoNode(ctx context.Context, argv []string, name, arch, dir string, tokens demoTokens) (*demoNode, error) {
	peers := filepath.Join(dir, "peers")
	args := append(argv[1:], "node", "--data", filepath.Join(dir, name), "--listen", "127.0.0.1:0", "--name", name,
		"--labels", "arch="+arch, "--peers-file", peers)
	cmd := exec.Command(argv[0], args...)
	cmd.Env = append(os.Environ(), "ROAM_TOKEN="+tokens.client, "ROAM_PEER_TOKEN="+tokens.peer, "ROAM_PEERS=")
	dieWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start node %s: %w", name, err)
	}
	n := &demoNode{name: name, arch: arch, cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			ready <- sc.Text()
		}
		for sc.Scan() {
		}
		cmd.Wait()
		logf.Close()
		close(n.done)
	}()
	select {
	case n.url = <-ready:
		f, err := os.OpenFile(peers, os.O_APPEND|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = fmt.Fprintln(f, n.url)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			n.stop()
			return nil, err
		}
		return n, nil
	case <-n.done:
		return nil, fmt.Errorf("node %s exited at start; see %s", name, logf.Name())
	case <-time.After(60 * time.Second):
		n.stop()
		return nil, fmt.Errorf("node %s did not start within 60 s", name)
	case <-ctx.Done():
		n.stop()
		return nil, ctx.Err()
	}
}

// stop asks the node to end (SIGTERM), then kills it if it lingers.
func (n *demoNode) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

func (p *demoPool) stop() {
	for _, n := range p.nodes {
		n.stop()
	}
}
