package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// durations is a sample of timings.
type durations []time.Duration

// quantile returns the q-quantile (0..1) by linear interpolation between
// the two nearest ranks.
func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return s[lo] + time.Duration(frac*float64(s[hi]-s[lo]))
}

func (d durations) median() time.Duration { return d.quantile(0.5) }
func (d durations) min() time.Duration    { return slices.Min(d) }
func (d durations) max() time.Duration    { return slices.Max(d) }

// spread is half the interquartile range relative to the median: a noise
// figure that one slow outlier does not dominate.
func (d durations) spread() float64 {
	m := d.median()
	if m == 0 {
		return 0
	}
	return float64(d.quantile(0.75)-d.quantile(0.25)) / 2 / float64(m)
}

func (d durations) mean() time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

func (d durations) stddev() time.Duration {
	m := float64(d.mean())
	var ss float64
	for _, x := range d {
		ss += (float64(x) - m) * (float64(x) - m)
	}
	return time.Duration(math.Sqrt(ss / float64(len(d))))
}

// geomean of positive ratios.
func geomean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs)))
}

// ms formats a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	f := float64(d) / 1e6
	switch {
	case f < 1:
		return fmt.Sprintf("%.3f", f)
	case f < 100:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.0f", f)
}

func mib(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// mbps is a throughput in MB/s (10^6 bytes) of n bytes in d.
func mbps(n int64, d time.Duration) string {
	v := float64(n) / 1e6 / d.Seconds()
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// table prints aligned columns; cells are tab separated.
type table struct{ w *tabwriter.Writer }

func newTable(header ...string) *table {
	t := &table{tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.w, strings.Join(cells, "\t")+"\t") }
func (t *table) flush()              { t.w.Flush() }

// loadavg reads the 1-minute load average, to show how busy the shared
// machine was while a section ran.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
