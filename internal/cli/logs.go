package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
)

func (s *streams) logsCmd(nf *nodeFlags) *cobra.Command {
	var follow bool
	c := &cobra.Command{
		Use:   "logs [-f] ID",
		Short: "Print an instance's stdout and stderr to ours",
		Args:  idArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			if err := s.logs(ctx, cl, args[0], follow); err != nil {
				return fmt.Errorf("logs %s: %w", args[0], err)
			}
			return nil
		}),
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the instance ends, wherever it moves")
	return c
}

// logs copies both streams; with follow, concurrently until the instance
// ends, the first failure stopping the other stream.
func (s *streams) logs(ctx context.Context, cl *client.Client, id string, follow bool) error {
	if !follow {
		if err := cl.Logs(ctx, id, client.Stdout, false, s.stdout); err != nil {
			return err
		}
		return cl.Logs(ctx, id, client.Stderr, false, s.stderr)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- cl.Logs(ctx, id, client.Stdout, true, s.stdout) }()
	go func() { errs <- cl.Logs(ctx, id, client.Stderr, true, s.stderr) }()
	first := <-errs
	if first != nil {
		cancel()
	}
	second := <-errs
	if first != nil {
		return first
	}
	return second
}
