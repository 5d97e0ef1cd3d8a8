package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
)

func (s *streams) resolveCmd(nf *nodeFlags) *cobra.Command {
	var commit, abort bool
	c := &cobra.Command{
		Use:   "resolve ID --commit|--abort",
		Short: "Settle an in-doubt migration on its destination node when its source is gone for good",
		Args:  idArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			if commit == abort {
				return &usageError{errors.New("resolve: give one of --commit and --abort")}
			}
			out, err := cl.Resolve(ctx, args[0], commit)
			if err != nil {
				return fmt.Errorf("resolve %s: %w", args[0], err)
			}
			fmt.Fprintf(s.stdout, "%s %s\n", args[0], out)
			return nil
		}),
	}
	c.Flags().BoolVar(&commit, "commit", false, "run the instance on this node (the source recorded the move, or is gone with its copy)")
	c.Flags().BoolVar(&abort, "abort", false, "drop the prepared instance (the source kept it)")
	return c
}
