package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/roam-edge/roam/internal/engine"
)

// benchInstrument times engine.Instrument (decode, transform, encode) on
// every Go-compiled fixture, the largest modules the project has, and how
// long wazero's compiler then takes on the largest, original and
// instrumented: together they are the cold start of a migratable run.
func benchInstrument(ctx context.Context, o *options) error {
	header("4a. Instrumenting Go-compiled modules (engine.Instrument, compiler variant)")
	mods, err := goModules(o.wasmDir)
	if err != nil {
		return err
	}
	reps := orDefault(0, o.quick, 5, 1)
	fmt.Printf("%d repetitions after one warm-up (median, min); load average %s\n\n", reps, loadavg())
	t := newTable("module", "size MB", "instrumented MB", "growth", "median ms", "min ms", "MB/s")
	var largest string
	var largestB, largestOut []byte
	for _, name := range mods {
		b, err := readModule(o.wasmDir, name)
		if err != nil {
			return err
		}
		out, d, err := timeInstrument(b, reps)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		t.row(name, fmt.Sprintf("%.2f", float64(len(b))/1e6), fmt.Sprintf("%.2f", float64(len(out))/1e6),
			fmt.Sprintf("%.2f", float64(len(out))/float64(len(b))), ms(d.median()), ms(d.min()),
			mbps(int64(len(b)), d.median()))
		largest, largestB, largestOut = name, b, out
		if len(b) >= 2500000 { // the modules of about 3 MB and more
			report(fmt.Sprintf("instrument %s (%.1f MB Go module)", name, float64(len(b))/1e6), "<= 1 s (3 MB)",
				ms(d.median())+" ms", d.median() <= time.Second)
		}
	}
	t.flush()
	fmt.Printf("load average after: %s\n", loadavg())
	if o.quick {
		return nil
	}
	return compileTimes(ctx, largest, largestB, largestOut)
}

// goModules lists the go-*.wasm fixtures, smallest first.
func goModules(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "go-*.wasm"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no go-*.wasm in %s", dir)
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	slices.SortFunc(paths, func(a, b string) int { return int(size(a) - size(b)) })
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".wasm"))
	}
	return names, nil
}

func timeInstrument(b []byte, reps int) ([]byte, durations, error) {
	out, err := engine.Instrument(b, false)
	if err != nil {
		return nil, nil, err
	}
	var d durations
	for i := 0; i < reps; i++ {
		runtime.GC()
		t0 := time.Now()
		if _, err := engine.Instrument(b, false); err != nil {
			return nil, nil, err
		}
		d = append(d, time.Since(t0))
	}
	return out, d, nil
}

// compileTimes is wazero's compilation without a cache, once per form.
func compileTimes(ctx context.Context, name string, orig, instr []byte) error {
	fmt.Printf("\nwazero compiler, no cache, %s (one run each):\n", name)
	t := newTable("form", "size MB", "compile ms")
	for _, f := range []struct {
		form string
		b    []byte
	}{{"original", orig}, {"instrumented", instr}} {
		runtime.GC()
		wz := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		t0 := time.Now()
		_, err := wz.CompileModule(ctx, f.b)
		d := time.Since(t0)
		wz.Close(ctx)
		if err != nil {
			return fmt.Errorf("compile %s %s: %w", f.form, name, err)
		}
		t.row(f.form, fmt.Sprintf("%.2f", float64(len(f.b))/1e6), ms(d))
	}
	t.flush()
	return nil
}
