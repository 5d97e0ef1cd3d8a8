// Command go-goroutines is a Roam test guest: several goroutines talk over
// channels (a producer, a pool of workers, a collector), with a
// sync.WaitGroup, a mutex-protected map, a select with a ticker-free
// timeout, and short time.Sleep calls so that the Go scheduler parks in
// poll_oneoff. Output is deterministic: results are collected and sorted
// before printing.
//
// Usage: go-goroutines [N]   N = number of rounds (default 40).
package main

import (
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

const (
	workers       = 4
	tasksPerRound = 64
)

type task struct {
	id   int
	seed uint64
}

type result struct {
	id     int
	worker int
	value  uint64
}

func say(parts ...string) {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	b = append(b, '\n')
	os.Stdout.Write(b)
}

func hex(v uint64) string {
	s := strconv.FormatUint(v, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

// crunch is the per-task work: deterministic, a few hundred microseconds.
func crunch(seed uint64) uint64 {
	x := seed | 1
	for i := 0; i < 40000; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func mix(h, v uint64) uint64 {
	return h ^ (v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2))
}

func round(r int) uint64 {
	tasks := make(chan task)
	results := make(chan result, 8)
	var wg sync.WaitGroup

	var mu sync.Mutex
	perWorker := map[int]int{} // worker -> tasks done (scheduling dependent; not printed)
	byBucket := map[uint64]uint64{}

	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for t := range tasks {
				v := crunch(t.seed)
				if t.id%16 == 0 {
					time.Sleep(2 * time.Millisecond) // parks the goroutine: poll_oneoff
				}
				mu.Lock()
				perWorker[w]++
				byBucket[v%8] += v >> 32
				mu.Unlock()
				results <- result{id: t.id, worker: w, value: v}
			}
		}(w)
	}

	// producer
	go func() {
		for i := 0; i < tasksPerRound; i++ {
			tasks <- task{id: i, seed: uint64(r)*1000003 + uint64(i)*7919}
			if i%32 == 31 {
				time.Sleep(time.Millisecond)
			}
		}
		close(tasks)
	}()

	// closer: waits for the workers, then closes results
	go func() {
		wg.Wait()
		close(results)
	}()

	// collector with a timeout-guarded select
	var got []result
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
collect:
	for {
		select {
		case res, ok := <-results:
			if !ok {
				break collect
			}
			got = append(got, res)
		case <-timeout.C:
			say("timeout waiting for results")
			os.Exit(3)
		}
	}

	sort.Slice(got, func(i, j int) bool { return got[i].id < got[j].id })
	h := uint64(0)
	for i, g := range got {
		if g.id != i {
			say("missing result ", itoa(i))
			os.Exit(3)
		}
		h = mix(h, g.value)
	}
	total := 0
	for _, n := range perWorker {
		total += n
	}
	keys := make([]uint64, 0, len(byBucket))
	for k := range byBucket {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		h = mix(h, k*31+byBucket[k])
	}
	if total != tasksPerRound {
		say("lost tasks: ", itoa(total))
		os.Exit(3)
	}
	return h
}

// pingPong bounces a counter between two goroutines over unbuffered channels.
func pingPong(n int) int {
	ping, pong := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(done)
	}()
	v := 0
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	<-done
	return v
}

func main() {
	rounds := 40
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil && n > 0 {
			rounds = n
		}
	}
	total := uint64(0)
	for r := 0; r < rounds; r++ {
		total = mix(total, round(r))
		total = mix(total, uint64(pingPong(1000)))
		say("step ", itoa(r), " checksum ", hex(total))
	}
	say("done checksum ", hex(total))
}
