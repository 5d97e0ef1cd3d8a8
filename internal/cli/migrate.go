package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/roam-edge/roam/client"
)

func (s *streams) migrateCmd(nf *nodeFlags) *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:   "migrate ID --to URL",
		Short: "Move a running instance live to another node",
		Args:  idArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			if to == "" {
				return &usageError{errors.New("migrate: --to URL is required")}
			}
			return s.migrate(ctx, cl, args[0], to)
		}),
	}
	c.Flags().StringVar(&to, "to", "", "URL of the destination node")
	return c
}

// migrate moves the instance and prints the summary line of DESIGN.md
// section 9; on a terminal, stderr also shows each pre-copy round.
func (s *streams) migrate(ctx context.Context, cl *client.Client, id, to string) error {
	var progress func(client.MigrateEvent)
	if isTerminal(s.stderr) {
		progress = func(ev client.MigrateEvent) {
			if ev.Event == "round" {
				fmt.Fprintf(s.stderr, "roam: migrate %s: round %d: %.2f MiB\n", id, ev.Round, float64(ev.Bytes)/(1<<20))
			}
		}
	}
	res, err := cl.Migrate(ctx, id, to, progress)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", id, err)
	}
	fmt.Fprintf(s.stdout, "migrated %s to %s: downtime=%.2fms total=%.2fms sent=%dB rounds=%d\n",
		cmp.Or(res.ID, id), cmp.Or(res.To, to), res.DowntimeMS, res.TotalMS, res.Bytes, res.Rounds)
	return nil
}

// isTerminal reports whether w is a terminal, where progress is welcome.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
