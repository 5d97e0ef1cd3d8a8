package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/node"
)

// benchStall measures what spinning guests cost the node around them:
// stop-the-world pauses of the Go runtime and /healthz latency, while the
// garbage collector is forced every 100 ms, with no guest (the baseline)
// and with two migratable guests in `loop br 0` on the compiler, at
// GOMAXPROCS 2 and 1. The node runs in this process, so its collections
// are this process's. Compiled guest code cannot be preempted: it reaches
// Go only through the poll calls the transform inserts.
func benchStall(ctx context.Context, o *options) error {
	spin, err := os.ReadFile(filepath.Join(filepath.Dir(o.wasmDir), "wat", "spin.wasm"))
	if err != nil {
		return err
	}
	phase := 10 * time.Second
	if o.quick {
		phase = 3 * time.Second
	}
	fmt.Printf("\n## Node under spinning guests (GC forced every 100 ms, %s per cell)\n\n", phase)
	tw := newTable("GOMAXPROCS", "guests", "GC pauses", "STW p50", "STW p99", "STW max", "stopping p99", "healthz p50", "healthz p99", "healthz max")
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{2, 1} {
		runtime.GOMAXPROCS(procs)
		for _, guests := range []int{0, 2} {
			st, err := stallCell(ctx, spin, guests, phase)
			if err != nil {
				return err
			}
			tw.row(fmt.Sprint(procs), fmt.Sprint(guests), fmt.Sprint(st.pauses), ms(st.stw.quantile(0.5)), ms(st.stw.quantile(0.99)), ms(st.stw.max()), ms(st.stopping.quantile(0.99)),
				ms(st.health.quantile(0.5)), ms(st.health.quantile(0.99)), ms(st.health.max()))
		}
	}
	tw.flush()
	fmt.Println("\nSTW: stop-the-world pauses of the garbage collector (runtime/metrics /sched/pauses/total/gc:seconds, bucket upper bounds); stopping: the part of them spent getting every goroutine to a safe point (/sched/pauses/stopping/gc:seconds). Targets (issue 7): STW p99 <= 1 ms and healthz p99 <= 50 ms with 2 spinning guests, also at GOMAXPROCS 1.")
	return nil
}

type stallFigures struct {
	pauses   int
	stw      durations
	stopping durations
	health   durations
}

func stallCell(ctx context.Context, spin []byte, guests int, phase time.Duration) (stallFigures, error) {
	var st stallFigures
	dir, err := os.MkdirTemp("", "roam-bench-stall-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return st, err
	}
	const token = "bench-stall"
	n, err := node.New(node.Config{Dir: dir, Name: "stall", Token: token, Listen: ln.Addr().String(), Log: log.New(io.Discard, "", 0)})
	if err != nil {
		ln.Close()
		return st, err
	}
	nctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(nctx, ln) }()
	defer func() { stop(); <-done }()
	c, err := client.New(n.URL(), token)
	if err != nil {
		return st, err
	}
	digest, err := c.UploadModule(ctx, spin)
	if err != nil {
		return st, err
	}
	for range guests {
		if _, err := c.Start(ctx, client.StartRequest{Module: digest, Args: []string{"spin"}}); err != nil {
			return st, err
		}
	}
	time.Sleep(200 * time.Millisecond) // the guests are in their loop
	before, beforeStop := stwHistogram(), pauseHistogram("/sched/pauses/stopping/gc:seconds")
	end := time.Now().Add(phase)
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for time.Now().Before(end) {
			runtime.GC()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	hc := &http.Client{Timeout: 30 * time.Second}
	for time.Now().Before(end) {
		t0 := time.Now()
		resp, err := hc.Get(n.URL() + "/healthz")
		if err != nil {
			return st, fmt.Errorf("healthz with %d spinning guests: %w", guests, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		st.health = append(st.health, time.Since(t0))
		time.Sleep(10 * time.Millisecond)
	}
	<-gcDone
	st.stw = stwHistogram().since(before)
	st.stopping = pauseHistogram("/sched/pauses/stopping/gc:seconds").since(beforeStop)
	st.pauses = len(st.stw)
	if len(st.stw) == 0 {
		st.stw, st.stopping = durations{0}, durations{0}
	}
	return st, nil
}

// stwCounts is a snapshot of the runtime's stop-the-world pause histogram.
type stwCounts struct {
	counts  []uint64
	buckets []float64
}

func stwHistogram() stwCounts { return pauseHistogram("/sched/pauses/total/gc:seconds") }

func pauseHistogram(name string) stwCounts {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	return stwCounts{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// since lists the pauses recorded after b, each as its bucket's upper bound.
func (a stwCounts) since(b stwCounts) durations {
	var out durations
	for i, c := range a.counts {
		hi := a.buckets[i+1]
		if hi > 3600 { // the last bucket is open
			hi = a.buckets[i]
		}
		for range c - b.counts[i] {
			out = append(out, time.Duration(hi*float64(time.Second)))
		}
	}
	return out
}
