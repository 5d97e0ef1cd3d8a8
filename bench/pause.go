package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/wasi"
)

// pauseSample is one pause request: its latency and the stack it unwound,
// or, for a run that ended first, how long Run took.
type pauseSample struct {
	latency, run   time.Duration
	onCPU          time.Duration // the guest thread's CPU time during latency
	frames, values int
}

// benchPause measures pause latency: from the Pause call (timestamped by the
// goroutine that makes it) to Run returning ErrPaused, which includes the
// unwind of every frame. Each sample is a fresh run paused at a random time.
func benchPause(ctx context.Context, o *options) error {
	header("2. Pause latency (Pause() call to Run returning ErrPaused; wazero compiler)")
	rt, err := engine.NewRuntime(engine.Config{Kind: engine.Compiler, NoCache: true})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	rng := rand.New(rand.NewPCG(o.seed, 2))
	fmt.Printf("%d samples per kernel, each a fresh run paused at a uniformly random time in [1 ms, 90%% of a run]; load average %s\n\n",
		o.samples, loadavg())
	t := newTable("kernel", "samples", "late", "p50 ms", "p90 ms", "p99 ms", "max ms",
		"on-CPU p50", "on-CPU p99", "on-CPU max", "frames", "values")
	var worst, worstCPU pauseStats
	for _, k := range o.kernels {
		st, err := pauseKernel(ctx, o, rt, k, rng)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		if worst.k == "" || st.wall.quantile(0.99) > worst.wall.quantile(0.99) {
			worst = st
		}
		if worstCPU.k == "" || st.cpu.quantile(0.99) > worstCPU.cpu.quantile(0.99) {
			worstCPU = st
		}
		t.row(k.name, fmt.Sprint(len(st.wall)), fmt.Sprint(st.late), ms(st.wall.median()), ms(st.wall.quantile(0.9)),
			ms(st.wall.quantile(0.99)), ms(st.wall.max()), ms(st.cpu.median()), ms(st.cpu.quantile(0.99)), ms(st.cpu.max()),
			fmt.Sprintf("%.1f", st.frames), fmt.Sprintf("%.1f", st.values))
	}
	t.flush()
	fmt.Print(`
ms = wall time; on-CPU = CPU time of the guest's thread over the same interval (what the pause costs
the guest, without the time the OS kept the thread off the CPU, which makes the wall-time tail on a
busy machine). late = runs that ended before the pause request (redrawn); frames, values = mean
unwound frames and saved values.
`)
	fmt.Printf("load average after: %s\n", loadavg())
	report("pause request to paused, p99, worst kernel (wall)", "<= 1 ms",
		fmt.Sprintf("%s ms %s (p50 %s ms, p90 %s ms)", ms(worst.wall.quantile(0.99)), worst.k,
			ms(worst.wall.median()), ms(worst.wall.quantile(0.9))), worst.wall.quantile(0.99) <= time.Millisecond)
	report("pause request to paused, p99, worst kernel (guest thread on-CPU)", "<= 1 ms",
		fmt.Sprintf("%s ms %s (max %s ms)", ms(worstCPU.cpu.quantile(0.99)), worstCPU.k, ms(worstCPU.cpu.max())),
		worstCPU.cpu.quantile(0.99) <= time.Millisecond)
	return nil
}

// pauseStats are one kernel's pause samples.
type pauseStats struct {
	k              string
	wall, cpu      durations
	late           int
	frames, values float64
}

func pauseKernel(ctx context.Context, o *options, rt *engine.Runtime, k kernel, rng *rand.Rand) (pauseStats, error) {
	st := pauseStats{k: k.name}
	b, err := readModule(o.wasmDir, k.name)
	if err != nil {
		return st, err
	}
	mod, err := rt.Load(k.name, b, true)
	if err != nil {
		return st, err
	}
	// An uninterrupted run compiles the module; a second one sizes the window.
	var full pauseSample
	for i := 0; i < 2; i++ {
		if full, _, err = pauseOnce(ctx, rt, mod, k, time.Hour); err != nil {
			return st, err
		}
	}
	window := time.Duration(0.9*float64(full.run)) - time.Millisecond
	for len(st.wall) < o.samples {
		at := time.Millisecond + time.Duration(rng.Float64()*float64(window))
		s, paused, err := pauseOnce(ctx, rt, mod, k, at)
		switch {
		case err != nil:
			return st, err
		case !paused:
			st.late++
			continue
		}
		st.wall, st.cpu = append(st.wall, s.latency), append(st.cpu, s.onCPU)
		st.frames += float64(s.frames) / float64(o.samples)
		st.values += float64(s.values) / float64(o.samples)
	}
	return st, nil
}

// pauseOnce runs k and asks it to pause after at. paused is false if the run
// ended first.
func pauseOnce(ctx context.Context, rt *engine.Runtime, mod *engine.Module, k kernel, at time.Duration) (pauseSample, bool, error) {
	in, err := rt.Start(ctx, mod, wasi.Config{Args: k.argv(), Stdout: newTail("")})
	if err != nil {
		return pauseSample{}, false, err
	}
	defer in.Close(ctx)
	// The guest runs on this goroutine's thread; pin it there so that the
	// timer can read that thread's CPU clock.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := gettid()
	var asked time.Time
	var askedCPU time.Duration
	fired := make(chan struct{})
	timer := time.AfterFunc(at, func() {
		asked, askedCPU = time.Now(), threadCPU(tid)
		in.Pause()
		close(fired)
	})
	start := time.Now()
	_, err = in.Run(ctx)
	end, endCPU := time.Now(), threadCPU(tid)
	if timer.Stop() {
		return pauseSample{run: end.Sub(start)}, false, err
	}
	<-fired
	if !errors.Is(err, engine.ErrPaused) {
		return pauseSample{}, false, err
	}
	snap, err := in.Capture()
	if err != nil {
		return pauseSample{}, false, err
	}
	s := pauseSample{latency: end.Sub(asked), onCPU: endCPU - askedCPU, frames: len(snap.Frames)}
	for _, f := range snap.Frames {
		s.values += len(f.Values)
	}
	return s, true, nil
}
