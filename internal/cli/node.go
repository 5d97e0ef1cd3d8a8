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
)

func (s *streams) nodeCmd() *cobra.Command {
	var (
		cfg       node.Config
		tokenFile string
		labels    []string
		eng       string
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
			return s.runNode(c.Context(), cfg, tokenFile)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:7474", "address to serve the API on (port 0 picks a free one)")
	f.StringVar(&cfg.Dir, "data", "", "data directory: modules, compiled code, instances, token")
	f.StringVar(&cfg.Name, "name", "", "node name (default: the host name)")
	f.StringVar(&cfg.URL, "url", "", "URL peers and clients use to reach this node (default: from --listen)")
	f.StringSliceVar(&labels, "labels", nil, "labels k=v,k=v reported to clients")
	f.StringVar(&tokenFile, "token-file", "", "file holding the pool token (default: $ROAM_TOKEN, else DIR/token, created)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	f.StringVar(&cfg.TLSCA, "tls-ca", "", "CA certificate that peer nodes' certificates chain to (PEM)")
	f.StringVar(&eng, "engine", "", "compiler or interpreter (default: compiler where wazero has one)")
	cfg.MaxMemory = node.DefaultMaxMemory
	f.Var(sizeValue{&cfg.MaxMemory}, "max-memory", "largest memory an instance may have (also the limit of those that ask for none), e.g. 256MiB")
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
func (s *streams) runNode(ctx context.Context, cfg node.Config, tokenFile string) error {
	token, where, created, err := node.ResolveToken(tokenFile, os.Getenv("ROAM_TOKEN"), cfg.Dir)
	if err != nil {
		return err
	}
	cfg.Token = token
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
		fmt.Fprintf(s.stderr, "roam node: new pool token written to %s\n", where)
	case where != "ROAM_TOKEN":
		fmt.Fprintf(s.stderr, "roam node: pool token read from %s\n", where)
	}
	fmt.Fprintf(s.stderr, "roam node: %s (%s/%s) serving on %s\n", n.Name(), runtime.GOOS, runtime.GOARCH, n.URL())
	fmt.Fprintln(s.stdout, n.URL()) // the first stdout line, for scripts
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	err = n.Run(ctx, ln)
	fmt.Fprintln(s.stderr, "roam node: stopped; instances kept in", cfg.Dir)
	return err
}
