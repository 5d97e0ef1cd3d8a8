package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-edge/roam/client"
)

// The migration matrix: c-dirty's buffer sizes and write rates.
var (
	migrateSizes = []int{1, 16, 64, 256} // MiB
	migrateRates = []string{"low", "high"}
)

// Targets of the node-agent figures.
const (
	downtimeTarget = 20 * time.Millisecond // 64 MiB, low write rate
	rssTarget      = 40 << 20              // idle node agent
	startTarget    = 20 * time.Millisecond // POST /v1/instances, cached module
	binaryTarget   = 25 << 20              // the roam binary
)

// dirtyTicks makes c-dirty run far longer than any measurement (10 ms a
// tick); the harness stops it.
const dirtyTicks = "1000000000"

// benchMigrate runs two `roam node` processes on loopback, moves c-dirty
// instances of several sizes and write rates from one to the other through
// the API, and measures what a node agent costs: idle RSS, start latency of
// a cached module, binary size.
func benchMigrate(ctx context.Context, o *options) error {
	header("5. Live migration between two `roam node` processes on loopback (c-dirty) and node-agent figures")
	tmp, err := os.MkdirTemp("", "roam-bench-migrate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := buildRoam(ctx, o, tmp)
	if err != nil {
		return err
	}
	wasm, err := readModule(o.wasmDir, "c-dirty")
	if err != nil {
		return err
	}
	token, err := randomToken()
	if err != nil {
		return err
	}
	reps := orDefault(0, o.quick, 3, 1)
	sizes := migrateSizes
	if o.quick {
		sizes = slices.DeleteFunc(slices.Clone(sizes), func(m int) bool { return m > 64 })
	}
	fmt.Printf("%d migration(s) per cell (A -> B, a fresh instance each, after 1 untimed warm-up move); load average %s\n\n", reps, loadavg())

	a, err := startNode(ctx, bin, filepath.Join(tmp, "a"), "bench-a", token)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startNode(ctx, bin, filepath.Join(tmp, "b"), "bench-b", token)
	if err != nil {
		return err
	}
	defer b.stop()
	digest, err := a.c.UploadModule(ctx, wasm)
	if err != nil {
		return err
	}
	// Warm-up: B fetches and compiles the module during its first move,
	// and the connections between the processes open.
	if _, err := migrateOnce(ctx, a, b, digest, 1, "low"); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	cells := map[string][]migrateRun{}
	key := func(mib int, rate string) string { return fmt.Sprintf("%d/%s", mib, rate) }
	for rep := 0; rep < reps; rep++ {
		for _, mib := range sizes {
			for _, rate := range migrateRates {
				r, err := migrateOnce(ctx, a, b, digest, mib, rate)
				if err != nil {
					return fmt.Errorf("%d MiB %s: %w", mib, rate, err)
				}
				cells[key(mib, rate)] = append(cells[key(mib, rate)], r)
			}
		}
	}
	t := newTable("size MiB", "rate", "runs", "downtime med ms", "downtime max ms", "total med ms",
		"sent/size", "rounds", "chunks per pre-copy round (median run)")
	var dirty64 durations
	for _, mib := range sizes {
		for _, rate := range migrateRates {
			runs := cells[key(mib, rate)]
			var down, total durations
			var sent []float64
			var rounds []int
			for _, r := range runs {
				down = append(down, r.downtime)
				total = append(total, r.total)
				sent = append(sent, float64(r.res.Bytes)/float64(int64(mib)<<20))
				rounds = append(rounds, r.res.Rounds)
			}
			if mib == 64 && rate == "low" {
				dirty64 = down
			}
			t.row(strconv.Itoa(mib), rate, strconv.Itoa(len(runs)), ms(down.median()), ms(down.max()), ms(total.median()),
				fmt.Sprintf("%.2f", median(sent)), intRange(rounds), medianRun(runs).chunks())
		}
	}
	t.flush()
	fmt.Print(`
downtime = as the source node reports it (downtime_ms): from the guest stopping at its safe point on A
to B acknowledging the commit, B's run goroutine started; total = the whole move (total_ms);
sent/size = bytes A sent to B (pre-copy rounds, final delta, log tails, framing) over the buffer size
(the instance's linear memory is about 1 MiB larger: stack, data, allocator); rounds = pre-copy rounds
+ the final stop-and-copy delta; chunks = 64 KiB chunks sent by each pre-copy round (from the node's
progress events), "+N" the chunks of the final delta, estimated from its bytes (total minus the rounds').
`)
	if len(dirty64) > 0 {
		met := dirty64.median() <= downtimeTarget
		fmt.Printf("\n64 MiB, low write rate: downtime median %s ms, max %s ms; target <= 20 ms: %s\n",
			ms(dirty64.median()), ms(dirty64.max()), metWord(met))
		report("migration downtime, 64 MiB instance, low write rate (median; source-reported)", "<= 20 ms",
			fmt.Sprintf("%s ms (max %s)", ms(dirty64.median()), ms(dirty64.max())), met)
	}
	fmt.Printf("RSS after the moves: node A %s MB, node B %s MB (no target: the Go heap keeps what the moves used)\n",
		mbOf(a.rss()), mbOf(b.rss()))
	if err := a.stop(); err != nil {
		return fmt.Errorf("node A: %w", err)
	}
	if err := b.stop(); err != nil {
		return fmt.Errorf("node B: %w", err)
	}
	if err := nodeFigures(ctx, bin, filepath.Join(tmp, "c"), token, wasm); err != nil {
		return err
	}
	fmt.Printf("load average after: %s\n", loadavg())
	return nil
}

// nodeFigures measures a fresh node agent: RSS idle and after one instance
// ran to its end, start latency of a module already compiled, binary size;
// then RSS again in a second process on the same data directory, whose
// instance uses the compiled code the first one left on disk.
func nodeFigures(ctx context.Context, bin, dir, token string, wasm []byte) error {
	fmt.Println()
	n, err := startNode(ctx, bin, dir, "bench-c", token)
	if err != nil {
		return err
	}
	defer n.stop()
	time.Sleep(settle)
	idle := n.rss()
	digest, err := n.c.UploadModule(ctx, wasm)
	if err != nil {
		return err
	}
	// One instance to its end: 16 MiB filled, 20 ticks (0.2 s). Its start
	// instruments and compiles the module, so the starts below use the
	// cache.
	if _, err := runToEnd(ctx, n.c, digest, rssArgs...); err != nil {
		return err
	}
	time.Sleep(settle)
	after := n.rss()
	// Start latency: POST /v1/instances of a trivial run (no buffer, no
	// tick), timed by the client; each instance is waited for outside the
	// timing.
	const starts = 20
	var lat durations
	for i := 0; i < starts+2; i++ {
		d, err := runToEnd(ctx, n.c, digest, "0", "low", "0")
		if err != nil {
			return err
		}
		if i >= 2 {
			lat = append(lat, d)
		}
	}
	if err := n.stop(); err != nil {
		return fmt.Errorf("node C: %w", err)
	}
	// The same data directory in a new process: the module's instrumented
	// form and compiled code come from disk.
	n2, err := startNode(ctx, bin, dir, "bench-c", token)
	if err != nil {
		return err
	}
	defer n2.stop()
	time.Sleep(settle)
	idle2 := n2.rss()
	if _, err := runToEnd(ctx, n2.c, digest, rssArgs...); err != nil {
		return err
	}
	time.Sleep(settle)
	cached := n2.rss()
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	run := "c-dirty " + strings.Join(rssArgs, " ")
	t := newTable("node-agent figure", "measured", "target", "met")
	t.row("RSS, fresh node idle (0.5 s after it printed its URL)", mbOf(idle)+" MB", "<= 40 MB", metWord(idle <= rssTarget))
	t.row("RSS, fresh node after one instance ran to its end ("+run+", first use: compiles; +0.5 s)", mbOf(after)+" MB", "<= 40 MB",
		metWord(after <= rssTarget))
	t.row("RSS, restarted node idle (same data dir)", mbOf(idle2)+" MB", "", "")
	t.row("RSS, restarted node after one instance ran to its end (compiled code from disk; +0.5 s)", mbOf(cached)+" MB", "", "")
	t.row(fmt.Sprintf("start latency, cached module (POST /v1/instances; median of %d)", starts), ms(lat.median())+" ms", "<= 20 ms",
		metWord(lat.median() <= startTarget))
	t.row("  start latency min / p90 / max", fmt.Sprintf("%s / %s / %s ms", ms(lat.min()), ms(lat.quantile(0.9)), ms(lat.max())), "", "")
	t.row("roam binary size (go build, not stripped)", fmt.Sprintf("%.1f MB", float64(fi.Size())/(1<<20)), "<= 25 MB",
		metWord(fi.Size() <= binaryTarget))
	t.flush()
	fmt.Println("\nMB = 2^20 bytes; RSS is VmRSS of /proc/PID/status; start latency is the client's Start call on loopback.")
	report("node agent RSS: fresh idle / after one instance (compiles) / restarted, after one instance", "<= 40 MB",
		fmt.Sprintf("%s / %s / %s MB", mbOf(idle), mbOf(after), mbOf(cached)), max(idle, after) <= rssTarget)
	report("instance start, cached module (POST /v1/instances, median)", "<= 20 ms", ms(lat.median())+" ms", lat.median() <= startTarget)
	report("roam binary size", "<= 25 MB", fmt.Sprintf("%.1f MB", float64(fi.Size())/(1<<20)), fi.Size() <= binaryTarget)
	return n2.stop()
}

// rssArgs is the instance a node runs before its RSS is read again, and
// settle how long the harness waits before reading it.
var rssArgs = []string{"16", "low", "20"}

const settle = 500 * time.Millisecond

// runToEnd starts c-dirty with args, waits for its end and returns how long
// the start call took.
func runToEnd(ctx context.Context, c *client.Client, digest string, args ...string) (time.Duration, error) {
	t0 := time.Now()
	in, err := c.Start(ctx, client.StartRequest{Module: digest, Args: append([]string{"c-dirty"}, args...)})
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	end, err := c.Wait(wctx, in.ID)
	if err != nil {
		return 0, err
	}
	if end.Status != client.StatusExited || end.ExitCode != 0 {
		return 0, fmt.Errorf("c-dirty %v: %s, exit code %d %s", args, end.Status, end.ExitCode, end.Error)
	}
	return d, nil
}

// migrateRun is one move of a c-dirty instance.
type migrateRun struct {
	res             client.MigrateResult
	downtime, total time.Duration
	precopy         []int   // chunks sent by each pre-copy round
	roundBytes      []int64 // bytes sent by each pre-copy round
}

// chunks lists the chunks each pre-copy round sent, then "+N": the chunks
// of the final delta, estimated from its bytes (c-dirty's memory is
// incompressible, so a chunk travels raw: 64 KiB and a few bytes of framing).
func (r migrateRun) chunks() string {
	var s []string
	final := r.res.Bytes
	for i, c := range r.precopy {
		s = append(s, strconv.Itoa(c))
		final -= r.roundBytes[i]
	}
	out := strings.Join(s, ",")
	if out == "" {
		out = "-"
	}
	return fmt.Sprintf("%s +%d", out, (final+chunkBytes/2)/chunkBytes)
}

const chunkBytes = 64 << 10

func medianRun(runs []migrateRun) migrateRun {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(x, y migrateRun) int { return int(x.downtime - y.downtime) })
	return s[(len(s)-1)/2]
}

// migrateOnce starts a c-dirty instance on A, waits for its buffer to be
// full and lets it write for 200 ms, moves it to B and stops it there.
func migrateOnce(ctx context.Context, a, b *nodeProc, digest string, mib int, rate string) (migrateRun, error) {
	var r migrateRun
	in, err := a.c.Start(ctx, client.StartRequest{Module: digest, Args: []string{"c-dirty", strconv.Itoa(mib), rate, dirtyTicks}})
	if err != nil {
		return r, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = a.c.Stop(sctx, in.ID) // follows the instance to B
	}()
	if err := waitFilled(ctx, a.c, in.ID); err != nil {
		return r, err
	}
	time.Sleep(200 * time.Millisecond)
	mctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	res, err := a.c.Migrate(mctx, in.ID, b.url, func(ev client.MigrateEvent) {
		if ev.Event == "round" {
			r.precopy = append(r.precopy, ev.Chunks)
			r.roundBytes = append(r.roundBytes, ev.Bytes)
		}
	})
	if err != nil {
		return r, fmt.Errorf("migrate: %w (node A: %s; node B: %s)", err, a.lastLog(), b.lastLog())
	}
	r.res = *res
	r.downtime = time.Duration(res.DowntimeMS * float64(time.Millisecond))
	r.total = time.Duration(res.TotalMS * float64(time.Millisecond))
	on, err := b.c.Instance(ctx, in.ID)
	if err != nil {
		return r, fmt.Errorf("after the move: %w", err)
	}
	if on.Status != client.StatusRunning {
		return r, fmt.Errorf("after the move the instance is %s on B (%s)", on.Status, on.Error)
	}
	return r, nil
}

// waitFilled polls the instance's stdout until it holds "filled".
func waitFilled(ctx context.Context, c *client.Client, id string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var out bytes.Buffer
		if err := c.Logs(ctx, id, client.Stdout, false, &out); err != nil {
			return err
		}
		if bytes.HasPrefix(out.Bytes(), []byte("filled ")) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %s did not print \"filled\" within 2 minutes (stdout %q)", id, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nodeProc is a `roam node` process.
type nodeProc struct {
	cmd  *exec.Cmd
	url  string
	c    *client.Client
	logs *syncBuffer
	done chan struct{}
	once sync.Once
	err  error
}

// startNode runs `roam node` on a free loopback port with its own data
// directory and the pool token, and reads its URL from its first stdout
// line. The nodes whose directories share a parent are one pool: a peers
// file there that each joins, and a peer token made from the pool token.
func startNode(ctx context.Context, bin, dir, name, token string) (*nodeProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	peers := filepath.Join(filepath.Dir(dir), "peers")
	pf, err := os.OpenFile(peers, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	cmd := exec.Command(bin, "node", "--data", dir, "--listen", "127.0.0.1:0", "--name", name, "--peers-file", peers)
	cmd.Env = append(os.Environ(), "ROAM_TOKEN="+token, "ROAM_PEER_TOKEN=peer-"+token, "ROAM_PEERS=")
	p := &nodeProc{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		s, _ := r.ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, r)
	}()
	select {
	case p.url = <-line:
	case <-time.After(30 * time.Second):
	}
	if !strings.HasPrefix(p.url, "http") {
		p.stop()
		return nil, fmt.Errorf("roam node %s printed no URL (stderr: %s)", name, p.logs.String())
	}
	if _, err := fmt.Fprintln(pf, p.url); err != nil {
		p.stop()
		return nil, err
	}
	if p.c, err = client.New(p.url, token); err != nil {
		p.stop()
		return nil, err
	}
	if _, err := p.c.Health(ctx); err != nil {
		p.stop()
		return nil, fmt.Errorf("roam node %s: %w", name, err)
	}
	return p, nil
}

// stop ends the node with SIGTERM (it keeps its instances in its data
// directory), or kills it after 20 s.
func (p *nodeProc) stop() error {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			p.err = errors.New("did not stop within 20 s of SIGTERM; killed")
		}
	})
	return p.err
}

// rss is the process's resident set (VmRSS) in bytes, or -1.
func (p *nodeProc) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return -1
}

// lastLog is the node's last stderr line, for error messages.
func (p *nodeProc) lastLog() string {
	s := strings.TrimSpace(p.logs.String())
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strconv.Quote(s)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func randomToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func mbOf(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f", float64(n)/(1<<20))
}

func metWord(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// intRange prints "3" or "2-4".
func intRange(xs []int) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}
