package cli

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/wasi"
)

// demoWasm is testdata/c/c-demo.c, copied here by testdata/build.sh.
//
//go:embed demo.wasm
var demoWasm []byte

func (s *streams) demoCmd() *cobra.Command {
	var (
		every time.Duration
		ticks int
		ef    engineFlags
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a bundled workload that hops between engines through snapshots",
		Long: "Runs a bundled C program (a prime sieve and a particle simulation that print a line per tick)\n" +
			"and, at every interval, pauses it, captures and encodes a snapshot, decodes it and resumes it\n" +
			"in a fresh runtime, alternating the compiler and the interpreter where both exist.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if every <= 0 || ticks <= 0 {
				return &usageError{errors.New("--every and --ticks must be positive")}
			}
			return s.demo(c.Context(), &ef, every, ticks)
		},
	}
	c.Flags().DurationVar(&every, "every", 700*time.Millisecond, "time between hops")
	c.Flags().IntVar(&ticks, "ticks", 30, "how long the workload runs, in ticks")
	c.Flags().StringVar(&ef.cacheDir, "cache-dir", "", "module store and compiled code cache")
	return c
}

// demoEngines returns the runtimes the demo alternates between.
func demoEngines(cacheDir string) ([]*engine.Runtime, error) {
	var out []*engine.Runtime
	for _, k := range []engine.Kind{engine.Compiler, engine.Interpreter} {
		rt, err := engine.NewRuntime(engine.Config{Kind: k, CacheDir: cacheDir})
		if err == nil {
			out = append(out, rt)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no engine available")
	}
	return out, nil
}

func (s *streams) demo(ctx context.Context, ef *engineFlags, every time.Duration, ticks int) error {
	rts, err := demoEngines(ef.cacheDir)
	if err != nil {
		return err
	}
	mods := make([]*engine.Module, len(rts))
	for i, rt := range rts {
		defer rt.Close(ctx)
		if mods[i], err = rt.Load("demo.wasm", demoWasm, true); err != nil {
			return err
		}
	}
	cfg := wasi.Config{Args: []string{"demo", fmt.Sprint(ticks)}, Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr}
	in, err := rts[0].Start(ctx, mods[0], cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stderr, "roam demo: started on the %s; hopping every %s\n", rts[0].Kind(), every)
	for hop, cur := 1, 0; ; hop++ {
		cancel := in.PauseAfter(every)
		code, err := in.Run(ctx)
		cancel()
		if !errors.Is(err, engine.ErrPaused) {
			in.Close(ctx)
			fmt.Fprintf(s.stderr, "roam demo: finished after %d hops\n", hop-1)
			return s.exit(code, err)
		}
		next := (cur + 1) % len(rts)
		if in, err = s.demoHop(ctx, hop, in, rts[cur], rts[next], mods[next]); err != nil {
			return err
		}
		cur = next
	}
}

// demoHop captures a paused instance, round-trips its snapshot through
// bytes and restores it on the next engine, saying what it measured.
func (s *streams) demoHop(ctx context.Context, hop int, in *engine.Instance, from, to *engine.Runtime, mod *engine.Module) (*engine.Instance, error) {
	t0 := time.Now()
	snap, err := in.Capture()
	at := in.PausedAt()
	in.Close(ctx)
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	var buf bytes.Buffer
	if err := snapshot.Encode(&buf, snap); err != nil {
		return nil, err
	}
	size := buf.Len()
	t2 := time.Now()
	decoded, err := snapshot.Decode(&buf)
	if err != nil {
		return nil, err
	}
	next, err := to.Restore(ctx, mod, decoded, engine.Stdio{Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr})
	if err != nil {
		return nil, err
	}
	t3 := time.Now()
	fmt.Fprintf(s.stderr, "roam demo: hop %d: paused in %s on the %s; snapshot %s (memory %d MiB); capture %s, encode %s, decode+restore on the %s %s\n",
		hop, at, from.Kind(), humanBytes(size), snap.MemoryPages/16, ms(t1.Sub(t0)), ms(t2.Sub(t1)), to.Kind(), ms(t3.Sub(t2)))
	return next, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
