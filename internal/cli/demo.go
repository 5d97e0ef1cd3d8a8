package cli

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
)

// demoWasm is testdata/c/c-demo.c, copied here by testdata/build.sh.
//
//go:embed demo.wasm
var demoWasm []byte

type demoFlags struct {
	every time.Duration
	ticks int
	nodes int
	arm64 bool
	data  string
	keep  bool
}

func (s *streams) demoCmd() *cobra.Command {
	var f demoFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Bring up a local continuum of nodes and migrate a live workload around it",
		Long: "Starts node agents on loopback (plus an arm64 one under qemu-aarch64-static when it is installed\n" +
			"and Go can cross-build roam), starts a bundled C program on the first (a prime search and a particle\n" +
			"simulation printing a line per tick), and migrates it live from node to node at every interval,\n" +
			"printing each hop's downtime. The program's output streams from wherever it runs.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if f.every <= 0 || f.ticks <= 0 || f.nodes < 2 {
				return &usageError{errors.New("--every and --ticks must be positive and --nodes at least 2")}
			}
			return s.demo(c.Context(), f)
		},
	}
	c.Flags().DurationVar(&f.every, "every", time.Second, "time between hops")
	c.Flags().IntVar(&f.ticks, "ticks", 120, "how long the workload runs, in ticks (about 60 ms each)")
	c.Flags().IntVar(&f.nodes, "nodes", 3, "local amd64 (native) nodes to start")
	c.Flags().BoolVar(&f.arm64, "arm64", true, "add an arm64 node under qemu-aarch64-static when available")
	c.Flags().StringVar(&f.data, "data", "", "directory for the nodes' data (default: a temporary one, removed after)")
	c.Flags().BoolVar(&f.keep, "keep", false, "keep the nodes running after the workload ends, until Ctrl-C")
	return c
}

func (s *streams) demo(ctx context.Context, f demoFlags) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir := f.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "roam-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	token := newDemoToken()
	pool, err := s.startPool(ctx, dir, token, f)
	defer pool.stop()
	if err != nil {
		return err
	}
	return s.runDemo(ctx, pool, token, f)
}

func newDemoToken() string {
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

func (s *streams) runDemo(ctx context.Context, pool *demoPool, token string, f demoFlags) error {
	first := pool.nodes[0]
	c, err := client.New(first.url, token)
	if err != nil {
		return err
	}
	digest, err := c.UploadModule(ctx, demoWasm)
	if err != nil {
		return err
	}
	in, err := c.Start(ctx, client.StartRequest{Module: digest, Args: []string{"demo.wasm", fmt.Sprint(f.ticks)}})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stderr, "roam demo: started %s on %s; watch it with:\n  roam logs -f %s --server %s --token %s\n",
		in.ID, first.label(), in.ID, first.url, token)
	logsDone := make(chan error, 2)
	go func() { logsDone <- c.Logs(ctx, in.ID, client.Stdout, true, s.stdout) }()
	go func() { logsDone <- c.Logs(ctx, in.ID, client.Stderr, true, s.stderr) }()
	hops := s.hopAround(ctx, c, pool, in.ID, f.every)
	end, err := c.Wait(ctx, in.ID)
	if err != nil {
		return err
	}
	<-logsDone
	<-logsDone
	fmt.Fprintf(s.stderr, "roam demo: %s %s with code %d on %s after %d live migrations\n",
		in.ID, end.Status, end.ExitCode, end.Node, hops)
	if f.keep {
		fmt.Fprintln(s.stderr, "roam demo: nodes keep running (--keep); Ctrl-C stops them")
		<-ctx.Done()
	}
	return s.exit(uint32(end.ExitCode), nil)
}

// hopAround migrates the instance to the next node of the ring at every
// interval until it ends, and returns how many moves succeeded.
func (s *streams) hopAround(ctx context.Context, c *client.Client, pool *demoPool, id string, every time.Duration) int {
	hops := 0
	for cur := 0; ; {
		select {
		case <-ctx.Done():
			return hops
		case <-time.After(every):
		}
		next := (cur + 1) % len(pool.nodes)
		from, to := pool.nodes[cur], pool.nodes[next]
		res, err := c.Migrate(ctx, id, to.url, nil)
		if err != nil {
			if in, ierr := c.Instance(ctx, id); ierr == nil && in.Status.Terminal() {
				return hops
			}
			fmt.Fprintf(s.stderr, "roam demo: hop to %s failed: %v\n", to.label(), err)
			continue
		}
		hops++
		fmt.Fprintf(s.stderr, "roam demo: hop %d: %s -> %s: downtime %.1f ms, total %.0f ms, sent %s in %d rounds\n",
			hops, from.label(), to.label(), res.DowntimeMS, res.TotalMS, humanBytes(int(res.Bytes)), res.Rounds)
		cur = next
	}
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
