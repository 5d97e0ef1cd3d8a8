package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/roam-edge/roam/internal/engine"
)

// Variants of the cost section, in the order of costRow's arrays.
const (
	vStock = iota
	vPlain
	vMig
	nVariants
)

// costRow is one kernel's samples per variant.
type costRow struct {
	k               kernel
	wall, cpu       [nVariants]durations // of the run (_start)
	setup           [nVariants]durations // instantiation, compiled code cached
	origSize, instr int
}

// ratio of two variants' medians, by wall or CPU time.
func (r *costRow) ratio(a, b int, cpu bool) float64 {
	s := &r.wall
	if cpu {
		s = &r.cpu
	}
	return float64(s[a].median()) / float64(s[b].median())
}

// benchCost measures the cost of being migratable: each kernel runs on
// stock wazero, on roam non-migratable and on roam migratable, interleaved
// (the order rotates every repetition) after one untimed warm-up run each
// that also compiles.
func benchCost(ctx context.Context, o *options) error {
	header("1. Cost of being migratable (wazero compiler; run = _start only, compilation excluded)")
	stock, err := newStockRunner(ctx)
	if err != nil {
		return err
	}
	plain, err := newEngineRunner("roam non-migratable", false)
	if err != nil {
		return err
	}
	mig, err := newEngineRunner("roam migratable", true)
	if err != nil {
		return err
	}
	runners := [nVariants]runner{vStock: stock, vPlain: plain, vMig: mig}
	defer func() {
		for _, r := range runners {
			r.close(ctx)
		}
	}()
	fmt.Printf("%d repetitions per variant, interleaved, medians; load average %s\n\n", o.reps, loadavg())
	var rows []*costRow
	for _, k := range o.kernels {
		row, err := costKernel(ctx, o, k, runners)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		rows = append(rows, row)
	}
	printCost(rows)
	fmt.Printf("load average after: %s\n", loadavg())
	summarizeCost(rows)
	return nil
}

func costKernel(ctx context.Context, o *options, k kernel, runners [nVariants]runner) (*costRow, error) {
	b, err := readModule(o.wasmDir, k.name)
	if err != nil {
		return nil, err
	}
	row := &costRow{k: k, origSize: len(b)}
	if ib, err := engine.Instrument(b, false); err == nil {
		row.instr = len(ib)
	}
	want := ""
	for _, r := range runners {
		if err := r.load(ctx, k, b); err != nil {
			return nil, fmt.Errorf("%s: load: %w", r.name(), err)
		}
		t, err := r.once(ctx, k) // warm-up: compiles into the cache
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name(), err)
		}
		if want == "" {
			want = t.last
		} else if t.last != want {
			return nil, fmt.Errorf("%s printed %q, stock printed %q", r.name(), t.last, want)
		}
	}
	for rep := 0; rep < o.reps; rep++ {
		for j := range runners {
			i := (rep + j) % nVariants
			runtime.GC()
			t, err := runners[i].once(ctx, k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", runners[i].name(), err)
			}
			row.wall[i] = append(row.wall[i], t.run)
			row.cpu[i] = append(row.cpu[i], t.cpu)
			row.setup[i] = append(row.setup[i], t.setup)
		}
	}
	return row, nil
}

func printCost(rows []*costRow) {
	t := newTable("kernel", "args", "stock ms", "non-migr ms", "migr ms", "non-migr/stock", "migr/non-migr",
		"(cpu) n/s", "(cpu) m/n", "spread s/n/m %", "setup s/n/m ms", "size x")
	for _, r := range rows {
		t.row(r.k.name, strings.Join(r.k.args, " "),
			ms(r.wall[vStock].median()), ms(r.wall[vPlain].median()), ms(r.wall[vMig].median()),
			fmt.Sprintf("%.3f", r.ratio(vPlain, vStock, false)), fmt.Sprintf("%.3f", r.ratio(vMig, vPlain, false)),
			fmt.Sprintf("%.3f", r.ratio(vPlain, vStock, true)), fmt.Sprintf("%.3f", r.ratio(vMig, vPlain, true)),
			fmt.Sprintf("%.0f/%.0f/%.0f", 100*r.wall[vStock].spread(), 100*r.wall[vPlain].spread(), 100*r.wall[vMig].spread()),
			fmt.Sprintf("%s/%s/%s", ms(r.setup[vStock].median()), ms(r.setup[vPlain].median()), ms(r.setup[vMig].median())),
			fmt.Sprintf("%.2f", float64(r.instr)/float64(r.origSize)))
	}
	t.flush()
	fmt.Print(`
n/s = non-migratable / stock, m/n = migratable / non-migratable, from medians of wall time; (cpu) the
same from process CPU time, which other processes on a shared machine disturb less. spread = half the
interquartile range / median. setup = instantiation (compiled code cached). size x = instrumented / original.
`)
}

// ratios summarises one comparison over the kernels.
type ratios struct {
	geo, worst float64
	worstK     string
}

func compare(rows []*costRow, a, b int, cpu bool) ratios {
	var xs []float64
	var out ratios
	for _, r := range rows {
		x := r.ratio(a, b, cpu)
		xs = append(xs, x)
		if x > out.worst {
			out.worst, out.worstK = x, r.k.name
		}
	}
	out.geo = geomean(xs)
	return out
}

func (r ratios) String() string {
	return fmt.Sprintf("geomean %.3fx, worst %.3fx (%s)", r.geo, r.worst, r.worstK)
}

func summarizeCost(rows []*costRow) {
	mig, migCPU := compare(rows, vMig, vPlain, false), compare(rows, vMig, vPlain, true)
	plain, plainCPU := compare(rows, vPlain, vStock, false), compare(rows, vPlain, vStock, true)
	fmt.Printf("\nmigratable / non-migratable: wall %v; cpu %v\n", mig, migCPU)
	fmt.Printf("non-migratable / stock:      wall %v; cpu %v\n", plain, plainCPU)
	// The verdict follows CPU time: on a shared machine wall-time medians
	// swing by tens of percent between runs, CPU-time ratios by a few.
	report("migratable cost, geomean (CPU time; wall)", "<= 1.15x",
		fmt.Sprintf("%.3fx (wall %.3fx)", migCPU.geo, mig.geo), migCPU.geo <= 1.15)
	report("migratable cost, worst kernel (CPU time; wall)", "<= 1.5x",
		fmt.Sprintf("%.3fx %s (wall %.3fx %s)", migCPU.worst, migCPU.worstK, mig.worst, mig.worstK), migCPU.worst <= 1.5)
	report("non-migratable vs stock wazero, geomean (CPU time; wall)", "<= 1.03x",
		fmt.Sprintf("%.3fx, worst %.3fx %s (wall %.3fx)", plainCPU.geo, plainCPU.worst, plainCPU.worstK, plain.geo),
		plainCPU.geo <= 1.03)
}
