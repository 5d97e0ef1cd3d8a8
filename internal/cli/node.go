package cli

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/node"
	"github.com/roam-edge/roam/internal/wasi"
)

func (s *streams) nodeCmd() *cobra.Command {
	var (
		cfg           node.Config
		tokenFile     string
		peerTokenFile string
		labels        []string
		volumes       []string
		eng           string
	)
	c := &cobra.Command{
		Use:   "node --data DIR [--listen ADDR] [flags]",
		Short: "Run a node agent: it runs instances, serves the HTTP API and migrates instances live",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if cfg.Dir == "" {
				return &usageError{errors.New("node: --data DIR is required")}
			}
			kind, err := engine.ParseKind(eng)
			if err != nil {
				return &usageError{err}
			}
			cfg.Engine = kind
			if cfg.Labels, err = parseLabels(labels); err != nil {
				return &usageError{err}
			}
			if !c.Flags().Changed("peers") && os.Getenv("ROAM_PEERS") != "" {
				cfg.Peers = []string{os.Getenv("ROAM_PEERS")}
			}
			if cfg.Volumes, err = wasi.ParseVolumes(volumes); err != nil {
				return &usageError{fmt.Errorf("--%w", err)}
			}
			return s.runNode(c.Context(), cfg, tokenFile, peerTokenFile)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:7474", "address to serve the API on (port 0 picks a free one)")
	f.StringVar(&cfg.Dir, "data", "", "data directory: modules, compiled code, instances, token")
	f.StringVar(&cfg.Name, "name", "", "node name (default: the host name)")
	f.StringVar(&cfg.URL, "url", "", "URL peers and clients use to reach this node (default: from --listen)")
	f.StringSliceVar(&labels, "labels", nil, "labels k=v,k=v reported to clients")
	f.StringVar(&tokenFile, "token-file", "", "file holding the client token (default: $ROAM_TOKEN, else DIR/token, created)")
	f.StringVar(&peerTokenFile, "peer-token-file", "", "file holding the token the pool's nodes present to each other, the same on every node\n(default: $ROAM_PEER_TOKEN, else DIR/peer-token, created)")
	f.StringSliceVar(&cfg.Peers, "peers", nil, "the other nodes' URLs, URL[,URL...] (repeatable; default $ROAM_PEERS): the only nodes this one\nmigrates to or takes migrations from")
	f.StringVar(&cfg.PeersFile, "peers-file", "", "file of more peer URLs, one a line, read again when it changes (a node joins without restarts)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	f.StringVar(&cfg.TLSCA, "tls-ca", "", "CA certificate that peer nodes' certificates chain to (PEM)")
	f.StringArrayVar(&volumes, "volume", nil, "expose host directory HOSTPATH to instances as volume NAME (NAME=HOSTPATH), repeatable; instances see no other host directory")
	f.StringVar(&eng, "engine", "", "compiler or interpreter (default: compiler where wazero has one)")
	cfg.MaxModuleBytes = 64 << 20
	f.Var(sizeValue[int64]{&cfg.MaxModuleBytes}, "max-module-size", "largest module the node takes, uploaded or fetched from a peer (e.g. 64MiB)")
	cfg.MaxLogBytes = 64 << 20
	f.Var(sizeValue[int64]{&cfg.MaxLogBytes}, "max-log-size", "bytes kept of each instance's stdout and of its stderr: the oldest go (e.g. 64MiB)")
	f.DurationVar(&cfg.KeepFinished, "keep-finished", time.Hour, "forget an instance that ended (its record and logs) this long after its end (negative: never)")
	f.DurationVar(&cfg.ModuleGrace, "module-grace", time.Hour, "delete a module no instance uses, with its compiled code, this long after its upload or last use (negative: never)")
	f.DurationVar(&cfg.PeerTimeout, "peer-timeout", 15*time.Second, "give up a request to a peer node that makes no progress (connects, sends or answers nothing) for this long")
	f.DurationVar(&cfg.BeginTimeout, "peer-begin-timeout", 2*time.Minute, "patience for a migration's begin, when the destination fetches and compiles the module")
	cfg.MaxMemory = node.DefaultMaxMemory
	f.Var(sizeValue[uint64]{&cfg.MaxMemory}, "max-memory", "largest memory an instance may have (also the limit of those that ask for none), e.g. 256MiB")
	f.DurationVar(&cfg.InDoubtAfter, "in-doubt-after", node.DefaultInDoubtAfter,
		"list a migration into this node as in-doubt when it stays prepared this long without an outcome from its source (roam resolve)")
	f.DurationVar(&cfg.CheckpointEvery, "checkpoint-every", 30*time.Second,
		"write a durable checkpoint of each running migratable instance this often, resumed from after a crash or SIGKILL (0: never)")
	return c
}

func parseLabels(kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels %q: want k=v", kv)
		}
		m[k] = v
	}
	return m, nil
}

// runNode serves until SIGTERM or SIGINT, then keeps every instance in the
// data directory for the next start.
func (s *streams) runNode(ctx context.Context, cfg node.Config, tokenFile, peerTokenFile string) error {
	token, where, created, err := node.ResolveToken(tokenFile, os.Getenv("ROAM_TOKEN"), cfg.Dir)
	if err != nil {
		return err
	}
	cfg.Token = token
	peerToken, peerWhere, peerCreated, err := node.ResolvePeerToken(peerTokenFile, os.Getenv("ROAM_PEER_TOKEN"), cfg.Dir)
	if err != nil {
		return err
	}
	cfg.PeerToken = peerToken
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	cfg.Listen = ln.Addr().String()
	cfg.Log = log.New(s.stderr, "roam node: ", log.LstdFlags)
	n, err := node.New(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	switch {
	case created:
		fmt.Fprintf(s.stderr, "roam node: new client token written to %s\n", where)
	case where != "ROAM_TOKEN":
		fmt.Fprintf(s.stderr, "roam node: client token read from %s\n", where)
	}
	if peerCreated {
		fmt.Fprintf(s.stderr, "roam node: new peer token written to %s; give every node of the pool the same one (--peer-token-file) to migrate between them\n", peerWhere)
	}
	if len(cfg.Peers) == 0 && cfg.PeersFile == "" {
		fmt.Fprintln(s.stderr, "roam node: no --peers: this node migrates to no other node and takes migrations from none")
	}
	fmt.Fprintf(s.stderr, "roam node: %s (%s/%s) serving on %s\n", n.Name(), runtime.GOOS, runtime.GOARCH, n.URL())
	fmt.Fprintln(s.stdout, n.URL()) // the first stdout line, for scripts
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	err = n.Run(ctx, ln)
	fmt.Fprintln(s.stderr, "roam node: stopped; instances kept in", cfg.Dir)
	return err
}
