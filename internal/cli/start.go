package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/wasi"
)

func (s *streams) startCmd(nf *nodeFlags) *cobra.Command {
	var (
		dirs, envs []string
		migratable bool
		memLimit   uint64
		every      string
	)
	c := &cobra.Command{
		Use:   "start [flags] MODULE [ARGS...]",
		Short: "Start a WASI program on a node and print its instance id; everything after MODULE goes to the program",
		Args:  usageArgs(1, "MODULE"),
		RunE: withClient(nf, func(ctx context.Context, cl *client.Client, args []string) error {
			if _, err := wasi.ParseVolumeConfig(args, envs, dirs); err != nil {
				return &usageError{fmt.Errorf("--%w", err)}
			}
			req := client.StartRequest{Args: args, Env: envs, Dirs: dirs, Migratable: &migratable,
				MemoryLimit: memLimit, CheckpointEvery: every}
			return s.start(ctx, cl, req)
		}),
	}
	c.Flags().SetInterspersed(false)
	c.Flags().StringArrayVar(&dirs, "dir", nil, "preopen PATH in the node's VOLUME as GUEST (VOLUME[/PATH][:GUEST], GUEST default /VOLUME[/PATH]), repeatable")
	c.Flags().StringArrayVar(&envs, "env", nil, "set K=V in the guest environment, repeatable")
	c.Flags().BoolVar(&migratable, "migratable", true, "instrument the module so it can pause and migrate")
	c.Flags().Var(sizeValue[uint64]{&memLimit}, "memory-limit", "most memory the instance may have, e.g. 64MiB (default: the node's --max-memory)")
	c.Flags().StringVar(&every, "checkpoint-every", "", "durable checkpoint period, e.g. 10s; 0 turns checkpoints off (default: the node's)")
	return c
}

// start uploads the module named by argv[0] and starts it.
func (s *streams) start(ctx context.Context, cl *client.Client, req client.StartRequest) error {
	path := req.Args[0]
	wasm, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if req.Module, err = cl.UploadModule(ctx, wasm); err != nil {
		return fmt.Errorf("start %s: upload: %w", path, err)
	}
	in, err := cl.Start(ctx, req)
	if err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	fmt.Fprintln(s.stdout, in.ID)
	return nil
}
