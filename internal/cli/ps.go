package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
)

func (s *streams) psCmd(nf *nodeFlags) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ps [--json]",
		Short: "List the instances of a node",
		Args:  noArgs,
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, _ []string) error {
			list, err := cl.Instances(ctx)
			if err != nil {
				return fmt.Errorf("ps: %w", err)
			}
			if asJSON {
				return printJSON(s.stdout, list)
			}
			return printInstances(s.stdout, list, time.Now())
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the JSON list")
	return c
}

func printJSON(w io.Writer, list []client.Instance) error {
	if list == nil {
		list = []client.Instance{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// printInstances prints the table for people.
func printInstances(w io.Writer, list []client.Instance, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tEXIT\tEPOCH\tNAME\tAGE")
	for _, in := range list {
		exit := "-"
		if in.Status.Terminal() {
			exit = strconv.Itoa(in.ExitCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", in.ID, in.Status, exit, in.Epoch, in.Name, age(in.CreatedAt, now))
	}
	return tw.Flush()
}

// age is how long ago t was, in its largest whole unit.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
