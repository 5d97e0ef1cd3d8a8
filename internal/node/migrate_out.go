package node

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/snapshot"
)

// Pre-copy stops when a round sends at most this many chunks, when it no
// longer shrinks the dirty set by a quarter, or after maxRounds.
const (
	smallRound = 16
	maxRounds  = 10
)

// MigrateEvent and MigrateResult are the lines of a migrate response.
type (
	MigrateEvent  = client.MigrateEvent
	MigrateResult = client.MigrateResult
)

// outMigration is a move of one instance from this node, which coordinates it.
type outMigration struct {
	n        *Node
	in       *instance
	id       string
	to       string
	rec      record // as the destination will hold it
	tracker  *dirtyTracker
	sentLogs [2]int64
	bytes    int64
	rounds   int
	progress func(MigrateEvent)
}

// migrate moves in to the node at URL to, live. On any failure before the
// destination has prepared, the instance runs on here.
func (n *Node) migrate(ctx context.Context, in *instance, to string, progress func(MigrateEvent)) (*MigrateResult, error) {
	to = strings.TrimRight(to, "/")
	if to == n.cfg.URL {
		return nil, apiErrorf(codeBadRequest, "instance %s is already on %s", in.rec.ID, to)
	}
	in.op.Lock()
	defer in.op.Unlock()
	rec := in.snapshotRecord()
	switch {
	case rec.Status != statusRunning:
		return nil, apiErrorf(codeConflict, "instance %s is %s; only a running instance migrates", rec.ID, rec.Status)
	case !rec.Migratable:
		return nil, apiErrorf(codeConflict, "instance %s was started with migratable=false", rec.ID)
	}
	m := &outMigration{n: n, in: in, id: newID("m-"), to: to, rec: rec, tracker: newDirtyTracker(), progress: progress}
	m.rec.Epoch++
	m.rec.Migrations++
	n.mu.Lock()
	n.outgoing[m.id] = rec.ID
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.outgoing, m.id)
		n.mu.Unlock()
	}()
	start := time.Now()
	res, err := m.run(ctx)
	n.metrics.migrated(err, res)
	if err != nil {
		n.logf("instance %s: migration to %s failed: %v", rec.ID, to, err)
		return nil, err
	}
	res.TotalMS = ms(time.Since(start))
	n.logf("instance %s moved to %s at epoch %d: downtime %.2f ms, total %.0f ms, %d bytes in %d rounds",
		rec.ID, to, res.Epoch, res.DowntimeMS, res.TotalMS, res.Bytes, res.Rounds)
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (m *outMigration) url(path string) string { return m.to + "/v1/migrations" + path }

func (m *outMigration) run(ctx context.Context) (*MigrateResult, error) {
	begin := beginRequest{Migration: m.id, Source: m.n.cfg.URL, Record: m.rec}
	bctx := withPatience(ctx, m.n.cfg.BeginTimeout) // the destination compiles before it answers
	if err := m.n.call(bctx, http.MethodPost, m.url(""), jsonBody(begin), jsonHeader, nil); err != nil {
		m.abort() // in case only its answer was lost
		return nil, failed("begin on the destination", err)
	}
	if err := m.precopy(ctx); err != nil {
		m.abort()
		if errors.Is(err, errEnded) {
			return nil, m.ended()
		}
		return nil, failed("pre-copy", err)
	}
	paused, err := m.in.halt()
	if err != nil || !paused {
		m.abort()
		if err == nil || m.in.view().Status.Terminal() {
			err = m.ended()
		}
		return nil, err
	}
	faultPoint(faultSourceAfterPause)
	if err := m.prepare(ctx); err != nil {
		m.abort()
		return nil, m.resumeHere(failed("stop-and-copy", err))
	}
	return m.commit(ctx)
}

// errEnded: the guest ended while pre-copy ran.
var errEnded = errors.New("the instance ended")

func (m *outMigration) ended() error {
	return apiErrorf(codeConflict, "instance %s ended during the migration (%s); nothing left to move", m.rec.ID, m.in.view().Status)
}

// failed wraps a step's error as migration_failed, keeping the peer's words.
func failed(step string, err error) error {
	return apiErrorf(codeMigrationFailed, "%s: %v; the instance still runs on the source", step, err)
}

// resumeHere runs the instance on here after a failed move.
func (m *outMigration) resumeHere(cause error) error {
	if err := m.in.goOn(); err != nil {
		return fmt.Errorf("%w; and resuming here failed: %v", cause, err)
	}
	return cause
}

// abort tells the destination to drop what it received; best effort, since
// a destination that never hears it asks this node for the outcome.
func (m *outMigration) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.n.call(ctx, http.MethodPost, m.url("/"+m.id+"/abort"), nil, nil, nil)
}

// precopy sends memory while the guest runs, then only what changed.
func (m *outMigration) precopy(ctx context.Context) error {
	prev := -1
	for m.rounds < maxRounds {
		sent, err := m.round(ctx)
		if err != nil {
			return err
		}
		if sent <= smallRound || (prev >= 0 && sent*4 > prev*3) {
			return nil
		}
		prev = sent
	}
	return nil
}

// round sends one pre-copy round: the chunks whose content changed since
// the destination got them, copied out of the running guest's memory. The
// engine instance stays open until the round is sent (memMu).
func (m *outMigration) round(ctx context.Context) (int, error) {
	m.in.memMu.RLock()
	defer m.in.memMu.RUnlock()
	m.in.mu.Lock()
	eng := m.in.eng
	m.in.mu.Unlock()
	if eng == nil {
		return 0, errEnded
	}
	live := eng.LiveMemory()
	delta := &snapshot.Snapshot{MemoryPages: uint32(len(live) / snapshot.PageSize)}
	n, err := m.send(ctx, "/memory", http.MethodPut, delta, m.tracker.liveChunks(live))
	if err != nil {
		return 0, err
	}
	m.rounds++
	faultPoint(faultSourcePrecopy)
	m.progress(MigrateEvent{Event: "round", Round: m.rounds, Bytes: n, Chunks: m.tracker.copied})
	return m.tracker.copied, nil
}

// send streams the logs' new bytes then a delta of the chunks chunk gives.
// Logs that rotated away bytes never sent go from their oldest byte kept,
// whose offset the Roam-Std*-Offset headers give.
func (m *outMigration) send(ctx context.Context, path, method string, s *snapshot.Snapshot, chunk func(int) []byte) (int64, error) {
	logs := [2]*logFile{m.in.stdout, m.in.stderr}
	var from, end [2]int64
	for i, l := range logs {
		l.pin() // what is sent stays until it is
		defer l.unpin()
		end[i], _, _ = l.state()
		from[i] = max(m.sentLogs[i], l.oldest())
	}
	// The logs' tails go first, with their checksum in a header; the delta
	// after them has checksums of its own.
	sum := crc32.New(castagnoli)
	if err := m.writeLogs(sum, from, end); err != nil {
		return 0, err
	}
	h := http.Header{"Content-Type": {"application/octet-stream"},
		"Roam-Stdout-Offset": {strconv.FormatInt(from[0], 10)},
		"Roam-Stdout-Length": {strconv.FormatInt(end[0]-from[0], 10)},
		"Roam-Stderr-Offset": {strconv.FormatInt(from[1], 10)},
		"Roam-Stderr-Length": {strconv.FormatInt(end[1]-from[1], 10)},
		"Roam-Logs-Crc32c":   {strconv.FormatUint(uint64(sum.Sum32()), 10)},
		epochHeader:          {strconv.FormatUint(m.rec.Epoch, 10)}}
	pr, pw := io.Pipe()
	counted := &countingReader{r: pr}
	written := make(chan struct{})
	go func() {
		defer close(written)
		err := m.writeLogs(pw, from, end)
		if err == nil {
			err = snapshot.EncodeDelta(pw, s, chunk)
		}
		pw.CloseWithError(err)
	}()
	err := m.n.call(ctx, method, m.url("/"+m.id+path), counted, h, nil)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if the call ended early
	<-written                           // it reads guest memory, which may close once we return
	if err != nil {
		return 0, err
	}
	m.sentLogs = end
	m.bytes += counted.n
	return counted.n, nil
}

func (m *outMigration) writeLogs(w io.Writer, from, end [2]int64) error {
	if _, err := m.in.stdout.copyRange(w, from[0], end[0]); err != nil {
		return err
	}
	_, err := m.in.stderr.copyRange(w, from[1], end[1])
	return err
}

// prepare sends the paused instance's state: the chunks changed since
// pre-copy, globals, frames, WASI state and the rest of the logs.
func (m *outMigration) prepare(ctx context.Context) error {
	m.in.mu.Lock()
	eng := m.in.eng
	m.in.mu.Unlock()
	snap, err := eng.CaptureShared()
	if err != nil {
		return err
	}
	dirty := m.tracker.dirty(snap.Memory)
	chunks := snapshot.MemoryChunk(snap.Memory, func(i int) bool { return dirty[i] })
	if _, err := m.send(ctx, "/prepare", http.MethodPost, snap, chunks); err != nil {
		return err
	}
	m.rounds++
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
