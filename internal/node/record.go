package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/atomicfile"
)

// Instance statuses (docs/api.md).
const (
	statusRunning = client.StatusRunning
	statusPaused  = client.StatusPaused
	statusExited  = client.StatusExited
	statusFailed  = client.StatusFailed
	statusStopped = client.StatusStopped
	statusMoved   = client.StatusMoved
)

// Exit codes the API reports for outcomes that are not the guest's own.
const (
	exitFailed  = 1
	exitTrap    = 134
	exitStopped = 143
)

// Instance is an instance as the API shows it.
type Instance = client.Instance

// record is what a node keeps about an instance, in DIR/instances/ID/meta.json.
type record struct {
	client.Instance
	Env  []string `json:"env,omitempty"`
	Dirs []string `json:"dirs,omitempty"`
	// ResumeOnStart: the instance runs (it is not held paused), so a
	// start of the node runs it again from its checkpoint.
	ResumeOnStart bool `json:"resume_on_start,omitempty"`
	// Checkpoint is the latest durable snapshot of the instance, which a
	// start of the node resumes it from; nil before the first one.
	Checkpoint *checkpointRef `json:"checkpoint,omitempty"`
	// CheckpointEvery is the start request's: "" the node's default.
	CheckpointEvery string `json:"checkpoint_every,omitempty"`
	// Migration is the id of the move that took the instance away
	// (status moved); CommitPending says the destination has not yet
	// confirmed that it holds it durably (this node keeps its copy).
	Migration     string `json:"migration,omitempty"`
	CommitPending bool   `json:"commit_pending,omitempty"`
	// From is the node the instance last arrived from; Lost says that
	// this node restarted before the instance's first checkpoint here, so
	// it went back there (status moved to From).
	From string `json:"from,omitempty"`
	Lost bool   `json:"lost,omitempty"`
}

// recordVersion is the format of meta.json files: bump it on incompatible changes.
//
// History: 1 (2026-11-26) first format.
const recordVersion = 1

type recordFile struct {
	Version int     `json:"version"`
	Record  *record `json:"record"`
}

func (n *Node) instanceDir(id string) string { return filepath.Join(n.cfg.Dir, "instances", id) }

// saveRecord writes the record atomically and durably.
func (n *Node) saveRecord(r *record) error {
	b, err := json.MarshalIndent(recordFile{Version: recordVersion, Record: r}, "", "  ")
	if err != nil {
		return err
	}
	dir := n.instanceDir(r.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, "meta.json"), b)
}

func loadRecord(path string) (*record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f recordFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Version != recordVersion || f.Record == nil || f.Record.ID == "" {
		return nil, fmt.Errorf("%s: unknown record version %d", path, f.Version)
	}
	// The id names the record's directory: one that does not, or that
	// could name another, is not the node's.
	if err := checkInstanceID(f.Record.ID); err != nil || filepath.Base(filepath.Dir(path)) != f.Record.ID {
		return nil, fmt.Errorf("%s: record of instance %q is not in its own directory", path, f.Record.ID)
	}
	return f.Record, nil
}
