// Command bench is Roam's benchmark harness: it measures the figures of
// DESIGN.md section 8 that one node (or two node agents on loopback, for
// migration) can measure, each against a baseline run side by side in the
// same process (stock wazero, roam's non-migratable mode) where there is
// one, and prints tables and a summary to paste into a README. It asserts
// nothing: numbers are reported, never tested.
//
// Usage: go run ./bench [-quick] [-only cost,pause,capture,instrument,startup,migrate,stall]
//
// See bench/README.md for what each figure means.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type options struct {
	quick   bool
	reps    int // interleaved repetitions of the cost section
	samples int // pause requests per kernel
	kernels []kernel
	wasmDir string
	seed    uint64
}

type section struct {
	name string
	run  func(context.Context, *options) error
}

var sections = []section{
	{"cost", benchCost},
	{"pause", benchPause},
	{"capture", benchCapture},
	{"instrument", benchInstrument},
	{"startup", benchStartup},
	{"migrate", benchMigrate},
	{"stall", benchStall},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	o := &options{}
	var only, kern string
	flag.BoolVar(&o.quick, "quick", false, "few repetitions and samples (a CI smoke run, numbers are rough)")
	flag.StringVar(&only, "only", "", "comma-separated sections to run: "+sectionNames())
	flag.StringVar(&kern, "kernels", "", "comma-separated kernels for cost and pause (default: all)")
	flag.IntVar(&o.reps, "reps", 0, "repetitions per variant in the cost section (default 7, quick 2)")
	flag.IntVar(&o.samples, "samples", 0, "pause requests per kernel (default 50, quick 8)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the random pause times")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	o.reps = orDefault(o.reps, o.quick, 7, 2)
	o.samples = orDefault(o.samples, o.quick, 50, 8)
	var err error
	if o.kernels, err = pickKernels(kern); err != nil {
		return err
	}
	if o.wasmDir, err = wasmDir(); err != nil {
		return err
	}
	chosen, err := pickSections(only)
	if err != nil {
		return err
	}
	fmt.Printf("roam bench: %s, %s/%s, %d CPUs, GOMAXPROCS %d, %s, GOGC=%s, load average %s, %s\n",
		revision(o.wasmDir), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(),
		envOr("GOGC", "default"), loadavg(), time.Now().Format(time.RFC3339))
	ctx := context.Background()
	for _, s := range chosen {
		if err := s.run(ctx, o); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	printSummary(o)
	return nil
}

// revision names the commit measured, and says whether tracked files differ
// from it (read-only git commands; "unknown" outside a checkout).
func revision(wasmDir string) string {
	root := filepath.Dir(filepath.Dir(wasmDir))
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "commit unknown"
	}
	rev := "commit " + strings.TrimSpace(string(out))
	if exec.Command("git", "-C", root, "diff", "--quiet", "HEAD", "--").Run() != nil {
		rev += " + uncommitted changes"
	}
	return rev
}

func orDefault(v int, quick bool, full, short int) int {
	switch {
	case v > 0:
		return v
	case quick:
		return short
	}
	return full
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func sectionNames() string {
	var n []string
	for _, s := range sections {
		n = append(n, s.name)
	}
	return strings.Join(n, ",")
}

func pickSections(only string) ([]section, error) {
	if only == "" {
		return sections, nil
	}
	want := strings.Split(only, ",")
	var out []section
	for _, s := range sections {
		if slices.Contains(want, s.name) {
			out = append(out, s)
		}
	}
	if len(out) != len(want) {
		return nil, fmt.Errorf("-only %q: sections are %s", only, sectionNames())
	}
	return out, nil
}

func pickKernels(list string) ([]kernel, error) {
	if list == "" {
		return kernels, nil
	}
	var out []kernel
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(kernels, func(k kernel) bool { return k.name == name })
		if i < 0 {
			return nil, fmt.Errorf("-kernels: unknown kernel %q", name)
		}
		out = append(out, kernels[i])
	}
	return out, nil
}

func header(title string) {
	fmt.Printf("\n== %s\n\n", title)
}

// result is one line of the final summary.
type result struct {
	figure, target, measured string
	met                      bool
}

var results []result

func report(figure, target, measured string, met bool) {
	results = append(results, result{figure, target, measured, met})
}

// printSummary prints a Markdown table that can be pasted into a README.
func printSummary(o *options) {
	header("Summary")
	mode := "full"
	if o.quick {
		mode = "quick (rough numbers)"
	}
	fmt.Printf("`go run ./bench` (%s), %s, %s/%s, %d CPUs, %s, %s\n\n", mode, revision(o.wasmDir), runtime.GOOS,
		runtime.GOARCH, runtime.NumCPU(), runtime.Version(), time.Now().Format("2006-01-02"))
	fmt.Println("| figure | target | measured | met |")
	fmt.Println("|---|---|---|---|")
	for _, r := range results {
		met := "yes"
		if !r.met {
			met = "**no**"
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.figure, r.target, r.measured, met)
	}
}
