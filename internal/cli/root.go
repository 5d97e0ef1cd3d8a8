// Package cli implements the roam command line: parsing, exit codes and
// output for people (DESIGN.md section 9).
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/internal/engine"
)

// Exit codes of roam's own outcomes; a guest's exit code passes verbatim.
const (
	ExitFailure = 1   // roam itself failed: bad module, refused feature, corrupt snapshot
	ExitUsage   = 2   // bad arguments
	ExitTrap    = 134 // the guest trapped
)

// exitError carries an exit code out of a command.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError marks a bad command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "roam: %v\n", ue.err)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "roam: %v\n", err)
	return ExitFailure
}

type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	s := &streams{stdin, stdout, stderr}
	root := &cobra.Command{
		Use:           "roam",
		Short:         "Run WebAssembly programs that pause anywhere and resume anywhere",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	// Without a Run of its own, cobra reports an unknown subcommand as an
	// ordinary error (exit 1); it is a usage error (exit 2).
	root.Args = cobra.ArbitraryArgs
	root.SuggestionsMinimumDistance = 2
	root.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		return &usageError{unknownCommand(c, args[0])}
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintln(stderr, c.UsageString())
		return &usageError{err}
	})
	nf := addNodeFlags(root)
	root.AddCommand(s.runCmd(), s.resumeEitherCmd(nf), s.snapshotCmd(), s.demoCmd(), s.nodeCmd())
	root.AddCommand(s.clientCmds(nf)...)
	return root
}

// unknownCommand is cobra's own message for a subcommand it does not know.
func unknownCommand(c *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return errors.New(msg)
}

// usageArgs checks positional arguments and reports a usage error.
func usageArgs(min int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < min {
			fmt.Fprintln(c.ErrOrStderr(), c.UsageString())
			return &usageError{fmt.Errorf("%s: missing %s", c.Name(), what)}
		}
		return nil
	}
}

// engineFlags are shared by run and resume.
type engineFlags struct {
	engine   string
	cacheDir string
}

func (f *engineFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.engine, "engine", "", "compiler or interpreter (default: compiler where wazero has one)")
	c.Flags().StringVar(&f.cacheDir, "cache-dir", "", "module store and compiled code cache (default $ROAM_CACHE_DIR or the user cache dir)")
}

func (f *engineFlags) runtime() (*engine.Runtime, error) {
	kind, err := engine.ParseKind(f.engine)
	if err != nil {
		return nil, &usageError{err}
	}
	return engine.NewRuntime(engine.Config{Kind: kind, CacheDir: f.cacheDir})
}
