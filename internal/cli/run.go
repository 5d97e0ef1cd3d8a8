package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasi"
)

// pauseFlags say when to pause a run and what to do then.
type pauseFlags struct {
	snapshot      string
	snapshotAfter time.Duration
	migrateEvery  time.Duration
}

func (p *pauseFlags) add(c *cobra.Command, withMigrate bool) {
	c.Flags().StringVar(&p.snapshot, "snapshot", "", "file to write the snapshot to when pausing")
	c.Flags().DurationVar(&p.snapshotAfter, "snapshot-after", 0, "pause at the first safe point after this long, write --snapshot and exit 0")
	if withMigrate {
		c.Flags().DurationVar(&p.migrateEvery, "migrate-every", 0, "self-test: pause, snapshot and restore into a fresh runtime at this interval")
	}
}

func (p *pauseFlags) check() error {
	switch {
	case (p.snapshot == "") != (p.snapshotAfter == 0):
		return &usageError{errors.New("--snapshot and --snapshot-after go together")}
	case p.snapshotAfter < 0 || p.migrateEvery < 0:
		return &usageError{errors.New("durations must be positive")}
	case p.snapshot != "" && p.migrateEvery > 0:
		return &usageError{errors.New("--snapshot-after and --migrate-every cannot be combined")}
	}
	return nil
}

func (s *streams) runCmd() *cobra.Command {
	var (
		ef         engineFlags
		pf         pauseFlags
		dirs, envs []string
		migratable bool
	)
	c := &cobra.Command{
		Use:   "run [flags] MODULE [ARGS...]",
		Short: "Run a WASI program; everything after MODULE goes to the program",
		Args:  usageArgs(1, "MODULE"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := pf.check(); err != nil {
				return err
			}
			if !migratable && (pf.snapshot != "" || pf.migrateEvery > 0) {
				return &usageError{errors.New("pausing needs migratable mode (drop --migratable=false)")}
			}
			cfg, err := wasiConfig(args, dirs, envs)
			if err != nil {
				return &usageError{err}
			}
			return s.run(c.Context(), &ef, &pf, args[0], cfg, migratable)
		},
	}
	c.Flags().SetInterspersed(false)
	c.Flags().StringArrayVar(&dirs, "dir", nil, "preopen HOST directory as GUEST (HOST[:GUEST]), repeatable")
	c.Flags().StringArrayVar(&envs, "env", nil, "set K=V in the guest environment, repeatable")
	c.Flags().BoolVar(&migratable, "migratable", true, "instrument the module so it can pause and migrate")
	ef.add(c)
	pf.add(c, true)
	return c
}

// wasiConfig parses the guest's argv, --env and --dir flags.
func wasiConfig(args, dirs, envs []string) (wasi.Config, error) {
	cfg, err := wasi.ParseConfig(args, envs, dirs)
	if err != nil {
		return cfg, fmt.Errorf("--%w", err)
	}
	return cfg, nil
}

func (s *streams) run(ctx context.Context, ef *engineFlags, pf *pauseFlags, path string, cfg wasi.Config, migratable bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rt, err := ef.runtime()
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	if migratable {
		if _, err := rt.Store().Put(b); err != nil {
			return fmt.Errorf("module store: %w", err)
		}
	}
	mod, err := rt.Load(path, b, migratable)
	var refused *transform.Error
	if errors.As(err, &refused) {
		return fmt.Errorf("%s cannot be made migratable: %w (it runs with --migratable=false)", path, err)
	}
	if err != nil {
		return err
	}
	cfg.Stdin, cfg.Stdout, cfg.Stderr = s.stdin, s.stdout, s.stderr
	in, err := rt.Start(ctx, mod, cfg)
	if err != nil {
		return err
	}
	return s.drive(ctx, rt, mod, in, pf)
}

// drive runs an instance to its end, pausing as the flags say.
func (s *streams) drive(ctx context.Context, rt *engine.Runtime, mod *engine.Module, in *engine.Instance, pf *pauseFlags) error {
	trace, hops := os.Getenv("ROAM_TRACE") == "1", 0
	for {
		cancel := pauseAfter(in, pf)
		code, err := in.Run(ctx)
		cancel()
		if !errors.Is(err, engine.ErrPaused) {
			in.Close(ctx)
			return s.exit(code, err)
		}
		snap, err := in.Capture()
		at := in.PausedAt()
		in.Close(ctx)
		if err != nil {
			return err
		}
		if pf.snapshot != "" {
			if err := snapshot.WriteFile(pf.snapshot, snap); err != nil {
				return fmt.Errorf("write snapshot: %w", err)
			}
			fmt.Fprintf(s.stderr, "roam: paused at %s, snapshot written to %s\n", at, pf.snapshot)
			return nil
		}
		hops++
		if trace {
			// ROAM_TRACE=1: one line per --migrate-every hop, for tests.
			fmt.Fprintf(s.stderr, "roam: trace: hop %d at %s\n", hops, at)
		}
		if in, err = s.hop(ctx, rt, mod, snap); err != nil {
			return err
		}
	}
}

// pauseAfter arms the pause the flags ask for, counted from when the guest
// runs (again); it returns the cancel function.
func pauseAfter(in *engine.Instance, pf *pauseFlags) func() {
	d := pf.snapshotAfter
	if pf.migrateEvery > 0 {
		d = pf.migrateEvery
	}
	if d == 0 {
		return func() {}
	}
	return in.PauseAfter(d)
}

// hop encodes a snapshot, decodes it and restores it into a fresh wazero
// runtime: the --migrate-every self-test.
func (s *streams) hop(ctx context.Context, rt *engine.Runtime, mod *engine.Module, snap *snapshot.Snapshot) (*engine.Instance, error) {
	var buf bytes.Buffer
	if err := snapshot.Encode(&buf, snap); err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	decoded, err := snapshot.Decode(&buf)
	if err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return rt.Restore(ctx, mod, decoded, engine.Stdio{Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr})
}

// exit turns a run's outcome into the process exit status.
func (s *streams) exit(code uint32, err error) error {
	var trap *engine.TrapError
	switch {
	case errors.As(err, &trap):
		fmt.Fprintln(s.stderr, trap.Error())
		return &exitError{ExitTrap}
	case err != nil:
		return err
	case code != 0:
		return &exitError{int(code)}
	}
	return nil
}
