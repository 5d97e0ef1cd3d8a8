package node

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/wasi"
)

// Config configures a node agent.
type Config struct {
	Listen string            // host:port to serve on
	URL    string            // how peers and clients reach this node; default from Listen
	Dir    string            // data directory: modules, compiled code, instances, token
	Name   string            // default: the host name
	Labels map[string]string // free-form, reported by /v1/node
	Token  string            // client token; empty: read or create DIR/token
	// PeerToken is the secret the pool's nodes present to each other,
	// distinct from Token; empty: read or create DIR/peer-token.
	PeerToken string
	// Peers and PeersFile list the other nodes' base URLs; a node talks
	// to no other (membership.go). The file is read again when it changes.
	Peers     []string
	PeersFile string
	Engine    engine.Kind

	TLSCert, TLSKey string // serve HTTPS with this pair
	TLSCA           string // CA that peers' certificates chain to

	// Volumes are the only host directories instances may preopen, by
	// name (--volume NAME=HOSTPATH); nil: none.
	Volumes *wasi.Volumes

	MaxModuleBytes int64  // largest module accepted (default 64 MiB)
	MaxMemoryPages uint32 // largest instance memory accepted in a snapshot (default 4 GiB)
	MaxLogBytes    int64  // bytes kept of each of an instance's stdout and stderr (default 64 MiB; < 0: all)

	// KeepFinished is how long an instance that ended (exited, failed,
	// stopped) stays listed, with its logs, before the node forgets it
	// (default 1 h; < 0: for ever).
	KeepFinished time.Duration
	// ModuleGrace is how long a module no instance uses stays in the store
	// after its upload (or its last use) before it is deleted with its
	// instrumented and compiled code (default 1 h; < 0: for ever).
	ModuleGrace time.Duration

	// PeerTimeout bounds every request to a peer node: it fails once the
	// peer made no progress (no connection, no byte taken or answered) for
	// this long (default 15 s). A stream of any size only needs to move.
	PeerTimeout time.Duration
	// BeginTimeout is the patience for a migration's begin, for which the
	// destination fetches and compiles the module before it answers
	// (default 2 min).
	BeginTimeout time.Duration

	// MaxMemory is the largest memory limit of an instance, in bytes, and
	// the limit of those that ask for none (default DefaultMaxMemory).
	MaxMemory uint64
	// CheckpointEvery is how often running migratable instances are
	// checkpointed durably (0: never, unless their start request asks).
	CheckpointEvery time.Duration
	// InDoubtAfter is how long a destination holds a prepared migration
	// without an outcome from its source before it lists it as in doubt,
	// for an operator to resolve (default DefaultInDoubtAfter).
	InDoubtAfter time.Duration

	Log *log.Logger // default: stderr
}

// DefaultMaxMemory is the memory limit of an instance when neither the node
// nor the start request sets one.
const DefaultMaxMemory = 1 << 30

// DefaultInDoubtAfter is Config.InDoubtAfter's default.
const DefaultInDoubtAfter = 2 * time.Minute

// Node is a running node agent.
type Node struct {
	cfg     Config
	rt      *engine.Runtime // migratable instances
	rtPlain *engine.Runtime // non-migratable instances, stoppable by cancel
	peers   *http.Client
	members *membership
	metrics *metrics
	started time.Time

	mu         sync.Mutex
	instances  map[string]*instance
	modules    map[moduleKey]*moduleLoad
	incoming   map[string]*incoming  // migrations into this node, by id
	outgoing   map[string]string     // migrations out of this node in progress: id -> instance
	done       map[string]string     // incoming migrations committed: id -> instance (commit is idempotent)
	pins       map[engine.Digest]int // modules being loaded for an instance: no garbage collection
	shutting   bool
	quit       chan struct{} // closed when the node shuts down
	background sync.WaitGroup
}

type moduleKey struct {
	digest     engine.Digest
	migratable bool
}

// New opens (or creates) the data directory, resolves the token, and brings
// back the instances a previous run of the node kept.
func New(cfg Config) (*Node, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "instances"), 0o700); err != nil {
		return nil, err
	}
	rt, err := engine.NewRuntime(engine.Config{Kind: cfg.Engine, CacheDir: cfg.Dir, Volumes: cfg.Volumes})
	if err != nil {
		return nil, err
	}
	rtPlain, err := engine.NewRuntime(engine.Config{Kind: cfg.Engine, CacheDir: cfg.Dir, CloseOnCancel: true})
	if err != nil {
		return nil, err
	}
	peers, err := peerClient(cfg.TLSCA, cfg.PeerTimeout)
	if err != nil {
		return nil, err
	}
	members, err := newMembership(cfg.Peers, cfg.PeersFile)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, rt: rt, rtPlain: rtPlain, peers: peers, members: members, started: time.Now(),
		instances: map[string]*instance{}, modules: map[moduleKey]*moduleLoad{},
		incoming: map[string]*incoming{}, outgoing: map[string]string{}, done: map[string]string{}, pins: map[engine.Digest]int{}, quit: make(chan struct{})}
	n.metrics = newMetrics(n)
	if err := n.recover(); err != nil {
		return nil, fmt.Errorf("recover instances from %s: %w", cfg.Dir, err)
	}
	return n, nil
}

func (c *Config) defaults() error {
	if c.Dir == "" {
		return errors.New("node: a data directory is required")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:7474"
	}
	if c.Name == "" {
		c.Name, _ = os.Hostname()
	}
	if c.URL == "" {
		c.URL = defaultURL(c.Listen, c.TLSCert != "")
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Volumes == nil {
		c.Volumes, _ = wasi.ParseVolumes(nil)
	}
	if c.InDoubtAfter <= 0 {
		c.InDoubtAfter = DefaultInDoubtAfter
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	c.MaxMemory = min(c.MaxMemory, engine.MaxMemoryPages*65536)
	if c.MaxModuleBytes == 0 {
		c.MaxModuleBytes = 64 << 20
	}
	switch {
	case c.MaxLogBytes == 0:
		c.MaxLogBytes = 64 << 20
	case c.MaxLogBytes < 0:
		c.MaxLogBytes = 0
	}
	if c.KeepFinished == 0 {
		c.KeepFinished = time.Hour
	}
	if c.ModuleGrace == 0 {
		c.ModuleGrace = time.Hour
	}
	if c.PeerTimeout <= 0 {
		c.PeerTimeout = 15 * time.Second
	}
	if c.BeginTimeout <= 0 {
		c.BeginTimeout = 2 * time.Minute
	}
	if c.Log == nil {
		c.Log = log.New(os.Stderr, "roam node: ", log.LstdFlags)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("node: --tls-cert and --tls-key go together")
	}
	if c.PeerToken == "" {
		t, _, _, err := ResolvePeerToken("", "", c.Dir)
		if err != nil {
			return err
		}
		c.PeerToken = t
	}
	if c.PeerToken == c.Token {
		return errors.New("node: the peer token must differ from the client token (a client could act as a node)")
	}
	return nil
}

func defaultURL(listen string, tls bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// URL is where clients and peers reach the node.
func (n *Node) URL() string { return n.cfg.URL }

// Token is the client token the node requires.
func (n *Node) Token() string { return n.cfg.Token }

// PeerToken is the token the node presents to its peers and requires of them.
func (n *Node) PeerToken() string { return n.cfg.PeerToken }

func (n *Node) logf(format string, args ...any) { n.cfg.Log.Printf(format, args...) }

// Run serves the API on ln until ctx ends, then pauses every running
// instance, keeps its snapshot in the data directory, and returns.
func (n *Node) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: n.cfg.Log}
	if n.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(n.cfg.TLSCert, n.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	n.startJanitor()
	n.every(checkpointTick, n.checkpointsDue)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	n.mu.Lock()
	n.shutting = true
	n.mu.Unlock()
	close(n.quit)
	// Stop taking requests but let in-flight control calls finish, then
	// keep every instance; streams (follow, wait) end with the server.
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	n.keepAll()
	n.background.Wait()
	srv.Close()
	n.rt.Close(context.Background())
	n.rtPlain.Close(context.Background())
	return nil
}

// newID returns a random id with a prefix.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func (n *Node) instance(id string) (*instance, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	in, ok := n.instances[id]
	return in, ok
}

func (n *Node) list() []Instance {
	n.mu.Lock()
	all := make([]*instance, 0, len(n.instances))
	for _, in := range n.instances {
		all = append(all, in)
	}
	n.mu.Unlock()
	out := make([]Instance, 0, len(all))
	for _, in := range all {
		v := in.view()
		if v.Status != statusMoved {
			out = append(out, v)
		}
	}
	return append(out, n.inDoubt()...)
}

func (n *Node) info() client.Node {
	n.mu.Lock()
	count := len(n.instances)
	n.mu.Unlock()
	return client.Node{Name: n.cfg.Name, URL: n.cfg.URL, Arch: runtime.GOARCH, OS: runtime.GOOS,
		Engine: string(n.rt.Kind()), Labels: n.cfg.Labels, Instances: count, Version: Version, Peers: n.members.list(),
		MaxCallDepth: n.rt.MaxFrames(), Volumes: n.cfg.Volumes.Names()}
}

// Version is the node agent's API and protocol version.
const Version = "v1"

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }
