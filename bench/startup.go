package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startProgram is a guest that the startup section runs through the roam
// binary, with the exit code it ends with.
type startProgram struct {
	label string
	args  []string // module name first
	exit  int
}

var startPrograms = []startProgram{
	// MIB=0 makes c-bigmem print one line and return: the run is almost
	// only start-up, so its wall time bounds process start to _start entry.
	{"trivial (c-bigmem 0)", []string{"c-bigmem", "0"}, 0},
	// c-exit's smallest run, which does about 8 million xorshift steps.
	{"c-exit 1", []string{"c-exit", "1"}, 7},
}

// benchStartup execs the roam binary the way a user does, hyperfine style:
// cold runs each get an empty ROAM_CACHE_DIR; warm runs share one that
// earlier runs filled (instrumented module and wazero's compiled code).
func benchStartup(ctx context.Context, o *options) error {
	header("4b. Start-up of `roam run` (process start to exit, exec'd binary; cold = empty cache dir)")
	tmp, err := os.MkdirTemp("", "roam-bench-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := buildRoam(ctx, o, tmp)
	if err != nil {
		return err
	}
	cold, warm := orDefault(0, o.quick, 3, 1), orDefault(0, o.quick, 20, 5)
	fmt.Printf("cold: %d runs each with a fresh cache dir (median); warm: %d runs after 2 warm-ups, modes interleaved; load average %s\n\n",
		cold, warm, loadavg())
	floor, err := timeFloor(ctx, bin, warm)
	if err != nil {
		return err
	}
	t := newTable("program", "mode", "cold ms", "warm mean ± sd ms", "warm median ms", "warm min ms")
	t.row("(roam --help, no guest)", "", "", fmt.Sprintf("%s ± %s", ms(floor.mean()), ms(floor.stddev())),
		ms(floor.median()), ms(floor.min()))
	var trivialWarm time.Duration
	for i, p := range startPrograms {
		rows, err := startupProgram(ctx, o, bin, tmp, p, cold, warm)
		if err != nil {
			return fmt.Errorf("%s: %w", p.label, err)
		}
		for _, r := range rows {
			t.row(p.label, r.mode, ms(r.cold.median()), fmt.Sprintf("%s ± %s", ms(r.warm.mean()), ms(r.warm.stddev())),
				ms(r.warm.median()), ms(r.warm.min()))
		}
		if i == 0 {
			trivialWarm = rows[0].warm.median()
		}
	}
	t.flush()
	fmt.Printf("load average after: %s\n", loadavg())
	report("warm `roam run` start-up, trivial guest (process start to exit)", "<= 20 ms",
		ms(trivialWarm)+" ms", trivialWarm <= 20*time.Millisecond)
	return nil
}

func buildRoam(ctx context.Context, o *options, dir string) (string, error) {
	bin := filepath.Join(dir, "roam")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/roam")
	cmd.Dir = filepath.Dir(filepath.Dir(o.wasmDir))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/roam: %v\n%s", err, out)
	}
	return bin, nil
}

type startupRow struct {
	mode       string
	cold, warm durations
}

var startModes = []struct {
	mode  string
	flags []string
}{
	{"migratable", nil},
	{"--migratable=false", []string{"--migratable=false"}},
}

func startupProgram(ctx context.Context, o *options, bin, tmp string, p startProgram, cold, warm int) ([]startupRow, error) {
	rows := make([]startupRow, len(startModes))
	argv := func(i int) []string {
		a := append([]string{"run"}, startModes[i].flags...)
		a = append(a, filepath.Join(o.wasmDir, p.args[0]+".wasm"))
		return append(a, p.args[1:]...)
	}
	for c := 0; c < cold; c++ {
		for i, m := range startModes {
			rows[i].mode = m.mode
			dir, err := os.MkdirTemp(tmp, "cold-")
			if err != nil {
				return nil, err
			}
			d, err := timeExec(ctx, bin, dir, p.exit, argv(i))
			if err != nil {
				return nil, err
			}
			rows[i].cold = append(rows[i].cold, d)
		}
	}
	warmDir := filepath.Join(tmp, "warm")
	for n := 0; n < warm+2; n++ {
		for i := range startModes {
			d, err := timeExec(ctx, bin, warmDir, p.exit, argv(i))
			if err != nil {
				return nil, err
			}
			if n >= 2 {
				rows[i].warm = append(rows[i].warm, d)
			}
		}
	}
	return rows, nil
}

// timeExec runs roam with ROAM_CACHE_DIR=cache and times it from fork to
// exit; the guest's output goes to /dev/null.
func timeExec(ctx context.Context, bin, cache string, exit int, args []string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "ROAM_CACHE_DIR="+cache)
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == exit:
		return d, nil
	case err == nil && exit == 0:
		return d, nil
	case err == nil:
		return 0, fmt.Errorf("roam %v exited 0, want %d", args, exit)
	}
	return 0, fmt.Errorf("roam %v: %w", args, err)
}

// timeFloor is the cost of starting the roam binary without any guest.
func timeFloor(ctx context.Context, bin string, n int) (durations, error) {
	var d durations
	for i := 0; i < n+2; i++ {
		t, err := timeExec(ctx, bin, os.TempDir(), 0, []string{"--help"})
		if err != nil {
			return nil, err
		}
		if i >= 2 {
			d = append(d, t)
		}
	}
	return d, nil
}
