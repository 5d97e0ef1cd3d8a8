package client

import "time"

// Status is where an instance is in its life.
type Status string

// The statuses of docs/api.md.
const (
	StatusRunning Status = "running"
	StatusPaused  Status = "paused"
	StatusExited  Status = "exited"  // the guest returned, exited or trapped (exit code 134)
	StatusFailed  Status = "failed"  // the host could not run it (exit code 1)
	StatusStopped Status = "stopped" // by Stop (exit code 143)
	StatusMoved   Status = "moved"   // only from the node it left
	// StatusInDoubt: (destination) prepared by a migration whose source has
	// not said, for longer than the node's --in-doubt-after, whether it
	// committed; held paused until it does or an operator resolves it.
	StatusInDoubt Status = "in-doubt"
)

// Terminal reports whether an instance with this status has ended for good.
func (s Status) Terminal() bool {
	return s == StatusExited || s == StatusFailed || s == StatusStopped
}

// Instance is a running or finished guest program. Its ID stays the same
// across moves.
type Instance struct {
	ID         string    `json:"id"`
	Module     string    `json:"module"` // sha256 hex digest
	Name       string    `json:"name"`
	Args       []string  `json:"args"`
	Status     Status    `json:"status"`
	ExitCode   int       `json:"exit_code"` // what `roam run` would have returned
	Error      string    `json:"error"`     // why it failed, or the Wasm stack trace of a trap
	Epoch      uint64    `json:"epoch"`
	Node       string    `json:"node"`
	Migratable bool      `json:"migratable"`
	CreatedAt  time.Time `json:"created_at"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	Migrations int       `json:"migrations"`
	MovedTo    string    `json:"moved_to,omitempty"`
	// MemoryLimit is the most linear memory the instance may have, in
	// bytes: its memory.grow past it returns -1.
	MemoryLimit uint64 `json:"memory_limit,omitempty"`
	// CheckpointedAt is when the node last wrote a durable checkpoint of
	// the instance, which a restart after a crash resumes from.
	CheckpointedAt time.Time `json:"checkpointed_at,omitzero"`
}

// StartRequest asks a node to start an uploaded module.
type StartRequest struct {
	Module     string   `json:"module"`               // digest returned by UploadModule
	Args       []string `json:"args"`                 // argv, argv[0] included
	Env        []string `json:"env,omitempty"`        // K=V; the node's environment is not inherited
	Dirs       []string `json:"dirs,omitempty"`       // VOLUME[/PATH][:GUEST]: a path inside one of the node's volumes
	Migratable *bool    `json:"migratable,omitempty"` // nil means true
	// MemoryLimit in bytes (0: the node's --max-memory); above the node's
	// maximum the start is refused (too_large).
	MemoryLimit uint64 `json:"memory_limit,omitempty"`
	// CheckpointEvery is a Go duration ("30s"); "" takes the node's
	// --checkpoint-every, "0" turns periodic checkpoints off.
	CheckpointEvery string `json:"checkpoint_every,omitempty"`
}

// Node describes the node a client talks to.
type Node struct {
	Name      string            `json:"name"`
	URL       string            `json:"url"`
	Arch      string            `json:"arch"`
	OS        string            `json:"os"`
	Engine    string            `json:"engine"`
	Labels    map[string]string `json:"labels"`
	Instances int               `json:"instances"`
	Version   string            `json:"version"`
	Volumes   []string          `json:"volumes"` // names of the directories the node exposes (Node.Volumes)
	// Peers are the base URLs of the node's pool (--peers), normalised to
	// scheme://host:port: the only nodes it migrates to or takes
	// migrations from, and the origins a Client follows a redirect of this
	// node to with its token.
	Peers []string `json:"peers"`
	// MaxCallDepth is the deepest instance, in call frames, the node's
	// engine can resume (1999 on wazero's interpreter); absent: no limit.
	MaxCallDepth int `json:"max_call_depth,omitempty"`
}

// Health is the unauthenticated answer of GET /healthz.
type Health struct {
	Status string `json:"status"`
	Name   string `json:"name"`
	Arch   string `json:"arch"`
	Engine string `json:"engine"`
}

// MigrateEvent is one line of a migration's progress stream.
type MigrateEvent struct {
	Event  string         `json:"event"` // "round", "done" or "error"
	Round  int            `json:"round,omitempty"`
	Bytes  int64          `json:"bytes,omitempty"`
	Chunks int            `json:"chunks,omitempty"`
	Result *MigrateResult `json:"result,omitempty"`
	Error  *Error         `json:"error,omitempty"`
}

// MigrateResult is what a finished migration reports (DESIGN.md section 4).
type MigrateResult struct {
	ID         string  `json:"id"`
	To         string  `json:"to"`
	Epoch      uint64  `json:"epoch"`
	DowntimeMS float64 `json:"downtime_ms"`
	TotalMS    float64 `json:"total_ms"`
	Bytes      int64   `json:"bytes"`
	Rounds     int     `json:"rounds"`
}
