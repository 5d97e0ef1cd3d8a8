package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
)

// ExitStopped is the exit code of an instance ended by `roam stop`.
const ExitStopped = 143

func (s *streams) waitCmd(nf *nodeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "wait ID",
		Short: "Wait for an instance to end and exit with its exit code",
		Args:  idArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			in, err := cl.Wait(ctx, args[0])
			if err != nil {
				return fmt.Errorf("wait %s: %w", args[0], err)
			}
			return s.waitExit(in)
		}),
	}
}

// waitExit turns an ended instance into what `roam run` would have returned.
func (s *streams) waitExit(in *client.Instance) error {
	switch in.Status {
	case client.StatusExited:
		if in.Error != "" {
			// A trap: exit code 134 and the Wasm stack trace, as roam run.
			fmt.Fprintln(s.stderr, strings.TrimRight(in.Error, "\n"))
		}
		if in.ExitCode != 0 {
			return &exitError{in.ExitCode}
		}
		return nil
	case client.StatusStopped:
		return &exitError{ExitStopped}
	case client.StatusFailed:
		return fmt.Errorf("instance %s failed: %s", in.ID, in.Error)
	}
	return fmt.Errorf("wait %s: instance is %s", in.ID, in.Status)
}
