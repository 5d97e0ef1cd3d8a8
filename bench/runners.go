package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/wasi"
)

// timing is one run: setup is instantiation (compiled code comes from a
// cache filled before timing starts), run is the guest's _start.
type timing struct {
	setup, run time.Duration
	cpu        time.Duration // process CPU time during run
	last       string        // the guest's last stdout line
}

// runner runs a kernel one way: roam migratable, roam non-migratable, or
// stock wazero.
type runner interface {
	name() string
	load(ctx context.Context, k kernel, b []byte) error
	once(ctx context.Context, k kernel) (timing, error)
	close(ctx context.Context)
}

// engineRunner runs through roam's engine, with compiled code kept in an
// in-memory compilation cache shared by all its instances.
type engineRunner struct {
	label      string
	rt         *engine.Runtime
	migratable bool
	mods       map[string]*engine.Module
}

func newEngineRunner(label string, migratable bool) (*engineRunner, error) {
	rt, err := engine.NewRuntime(engine.Config{Kind: engine.Compiler, NoCache: true})
	if err != nil {
		return nil, err
	}
	return &engineRunner{label: label, rt: rt, migratable: migratable, mods: map[string]*engine.Module{}}, nil
}

func (r *engineRunner) name() string { return r.label }

func (r *engineRunner) load(_ context.Context, k kernel, b []byte) error {
	m, err := r.rt.Load(k.name, b, r.migratable)
	if err != nil {
		return err
	}
	r.mods[k.name] = m
	return nil
}

func (r *engineRunner) once(ctx context.Context, k kernel) (timing, error) {
	out := newTail("")
	t0 := time.Now()
	in, err := r.rt.Start(ctx, r.mods[k.name], wasi.Config{Args: k.argv(), Stdout: out})
	if err != nil {
		return timing{}, err
	}
	defer in.Close(ctx)
	c1, t1 := cpuTime(), time.Now()
	code, err := in.Run(ctx)
	t2, c2 := time.Now(), cpuTime()
	if err == nil && code != 0 {
		err = fmt.Errorf("exit code %d", code)
	}
	return timing{setup: t1.Sub(t0), run: t2.Sub(t1), cpu: c2 - c1, last: out.lastLine()}, err
}

func (r *engineRunner) close(ctx context.Context) { r.rt.Close(ctx) }

// stockRunner is the baseline: wazero's compiler and its own WASI, the way
// an embedder uses them, one compilation per module.
type stockRunner struct {
	wz       wazero.Runtime
	compiled map[string]wazero.CompiledModule
}

func newStockRunner(ctx context.Context) (*stockRunner, error) {
	wz := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, wz); err != nil {
		return nil, err
	}
	return &stockRunner{wz: wz, compiled: map[string]wazero.CompiledModule{}}, nil
}

func (r *stockRunner) name() string { return "stock" }

func (r *stockRunner) load(ctx context.Context, k kernel, b []byte) error {
	c, err := r.wz.CompileModule(ctx, b)
	if err != nil {
		return err
	}
	r.compiled[k.name] = c
	return nil
}

func (r *stockRunner) once(ctx context.Context, k kernel) (timing, error) {
	out := newTail("")
	cfg := wazero.NewModuleConfig().WithName("").WithArgs(k.argv()...).WithStdout(out).
		WithSysNanotime().WithSysWalltime().WithSysNanosleep().WithStartFunctions()
	t0 := time.Now()
	m, err := r.wz.InstantiateModule(ctx, r.compiled[k.name], cfg)
	if err != nil {
		return timing{}, err
	}
	defer m.Close(ctx)
	c1, t1 := cpuTime(), time.Now()
	_, err = m.ExportedFunction("_start").Call(ctx)
	t2, c2 := time.Now(), cpuTime()
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		err = nil
		if exit.ExitCode() != 0 {
			err = fmt.Errorf("exit code %d", exit.ExitCode())
		}
	}
	return timing{setup: t1.Sub(t0), run: t2.Sub(t1), cpu: c2 - c1, last: out.lastLine()}, err
}

func (r *stockRunner) close(ctx context.Context) { r.wz.Close(ctx) }
