package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/atomicfile"
)

func (s *streams) checkpointCmd(nf *nodeFlags) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "checkpoint ID -o FILE",
		Short: "Write a snapshot of an instance to FILE; the instance goes on",
		Args:  idArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			if out == "" {
				return &usageError{errors.New("checkpoint: -o FILE is required")}
			}
			err := atomicfile.Write(out, func(w io.Writer) error { return cl.Checkpoint(ctx, args[0], w) })
			if err != nil {
				return fmt.Errorf("checkpoint %s: %w", args[0], err)
			}
			return nil
		}),
	}
	c.Flags().StringVarP(&out, "output", "o", "", "snapshot file to write")
	return c
}

func (s *streams) restoreCmd(nf *nodeFlags) *cobra.Command {
	var paused bool
	c := &cobra.Command{
		Use:   "restore [--paused] FILE",
		Short: "Start a new instance on a node from a snapshot file and print its id",
		Args:  exactArgs("FILE"),
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			in, err := cl.Restore(ctx, f, paused)
			if err != nil {
				return fmt.Errorf("restore %s: %w", args[0], err)
			}
			fmt.Fprintln(s.stdout, in.ID)
			return nil
		}),
	}
	c.Flags().BoolVar(&paused, "paused", false, "keep the new instance paused (roam resume ID runs it)")
	return c
}
