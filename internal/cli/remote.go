package cli

import (
	"cmp"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/roam-edge/roam/client"
)

// defaultServer is the node a client command talks to when neither --server
// nor ROAM_SERVER says otherwise.
const defaultServer = "http://127.0.0.1:7474"

// nodeFlags are the global flags of the commands that talk to a node.
type nodeFlags struct{ server, token, tlsCA string }

// addNodeFlags adds --server and --token to root, for every subcommand,
// before it or with it. The token's default is read only when used, so that
// help never prints it.
func addNodeFlags(root *cobra.Command) *nodeFlags {
	f := &nodeFlags{}
	root.PersistentFlags().StringVar(&f.server, "server", "", "node API URL (default $ROAM_SERVER or "+defaultServer+")")
	root.PersistentFlags().StringVar(&f.token, "token", "", "node API token (default $ROAM_TOKEN)")
	root.PersistentFlags().StringVar(&f.tlsCA, "tls-ca", "", "CA certificate (PEM) that https nodes' certificates chain to (default $ROAM_TLS_CA, else the system's)")
	return f
}

func (f *nodeFlags) client() (*client.Client, error) {
	server := cmp.Or(f.server, os.Getenv("ROAM_SERVER"), defaultServer)
	var opts []client.Option
	if ca := cmp.Or(f.tlsCA, os.Getenv("ROAM_TLS_CA")); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", ca)
		}
		opts = append(opts, client.WithRootCAs(pool))
	}
	c, err := client.New(server, cmp.Or(f.token, os.Getenv("ROAM_TOKEN")), opts...)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--server: %w", err)}
	}
	return c, nil
}

// clientCmds are the commands that drive instances on a node.
func (s *streams) clientCmds(nf *nodeFlags) []*cobra.Command {
	return []*cobra.Command{
		s.startCmd(nf), s.psCmd(nf), s.waitCmd(nf), s.logsCmd(nf), s.migrateCmd(nf),
		s.lifecycleCmd(nf, "stop", "End an instance (exit code 143)", (*client.Client).Stop),
		s.lifecycleCmd(nf, "pause", "Pause an instance at its next safe point", (*client.Client).Pause),
		s.checkpointCmd(nf), s.restoreCmd(nf), s.resolveCmd(nf),
	}
}

// withClient adapts a client command's body to cobra.
func withClient(nf *nodeFlags, run func(context.Context, *client.Client, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		cl, err := nf.client()
		if err != nil {
			return err
		}
		return run(c.Context(), cl, args)
	}
}

// exactArgs wants exactly one argument, named what in the usage error.
func exactArgs(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := usageArgs(1, what)(c, args); err != nil {
			return err
		}
		if len(args) > 1 {
			fmt.Fprintln(c.ErrOrStderr(), c.UsageString())
			return &usageError{fmt.Errorf("%s: unexpected argument %q", c.Name(), args[1])}
		}
		return nil
	}
}

// noArgs refuses any argument.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		fmt.Fprintln(c.ErrOrStderr(), c.UsageString())
		return &usageError{fmt.Errorf("%s: unexpected argument %q", c.Name(), args[0])}
	}
	return nil
}

// idArgs wants exactly one instance id.
var idArgs = exactArgs("ID")

// lifecycleCmd is stop, pause or resume: one call, then the status line.
func (s *streams) lifecycleCmd(nf *nodeFlags, name, short string, call func(*client.Client, context.Context, string) (*client.Instance, error)) *cobra.Command {
	return &cobra.Command{
		Use:   name + " ID",
		Short: short,
		Args:  idArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			in, err := call(cl, ctx, args[0])
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, args[0], err)
			}
			fmt.Fprintln(s.stdout, statusLine(in))
			return nil
		}),
	}
}

// resumeEitherCmd is `roam resume`: a snapshot file continues here as
// resume.go does; an instance id (i-..., not a file) resumes on the node.
func (s *streams) resumeEitherCmd(nf *nodeFlags) *cobra.Command {
	c := s.resumeCmd()
	remote := s.lifecycleCmd(nf, "resume", "", (*client.Client).Resume)
	local := c.RunE
	c.Use = "resume [flags] SNAPSHOT | resume ID"
	c.Short = "Continue a paused run from its snapshot, or a paused instance on a node"
	c.RunE = func(c *cobra.Command, args []string) error {
		if !isInstanceID(args[0]) {
			return local(c, args)
		}
		if err := idArgs(c, args); err != nil {
			return err
		}
		if err := noLocalFlags(c); err != nil {
			return err
		}
		return remote.RunE(c, args)
	}
	return c
}

// isInstanceID tells an instance id from a snapshot path: ids start with
// "i-" (docs/api.md); a file of that name wins.
func isInstanceID(arg string) bool {
	if !strings.HasPrefix(arg, "i-") || strings.ContainsAny(arg, `/\`) {
		return false
	}
	_, err := os.Stat(arg)
	return err != nil
}

// noLocalFlags refuses the flags of a local resume on a remote one.
func noLocalFlags(c *cobra.Command) error {
	var err error
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if err == nil && f.Changed {
			err = &usageError{fmt.Errorf("resume: --%s applies to a snapshot file, not to an instance", f.Name)}
		}
	})
	return err
}

// statusLine is "ID STATUS", with the exit code once the instance ended.
func statusLine(in *client.Instance) string {
	if in.Status.Terminal() {
		return fmt.Sprintf("%s %s (exit %d)", in.ID, in.Status, in.ExitCode)
	}
	return fmt.Sprintf("%s %s", in.ID, in.Status)
}
