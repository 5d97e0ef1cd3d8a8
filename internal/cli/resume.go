package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/snapshot"
)

func (s *streams) resumeCmd() *cobra.Command {
	var (
		ef     engineFlags
		pf     pauseFlags
		module string
	)
	c := &cobra.Command{
		Use:   "resume [flags] SNAPSHOT",
		Short: "Continue a paused run from its snapshot",
		Args:  usageArgs(1, "SNAPSHOT"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := pf.check(); err != nil {
				return err
			}
			return s.resume(c.Context(), &ef, &pf, args[0], module)
		},
	}
	c.Flags().StringVar(&module, "module", "", "the module file, when it is not in the local module store")
	ef.add(c)
	pf.add(c, true)
	return c
}

func (s *streams) resume(ctx context.Context, ef *engineFlags, pf *pauseFlags, path, module string) error {
	snap, err := snapshot.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	rt, err := ef.runtime()
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	var b []byte
	if module != "" {
		if b, err = os.ReadFile(module); err == nil && sha256.Sum256(b) != snap.ModuleDigest {
			return fmt.Errorf("--module %s (sha256 %x) is not the module this snapshot was taken from (%s, sha256 %x)",
				module, sha256.Sum256(b), snap.ModuleName, snap.ModuleDigest)
		}
	} else {
		b, err = rt.Store().Get(engine.Digest(snap.ModuleDigest))
	}
	if err != nil {
		return err
	}
	mod, err := rt.Load(snap.ModuleName, b, true)
	if err != nil {
		return err
	}
	in, err := rt.Restore(ctx, mod, snap, engine.Stdio{Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr})
	if err != nil {
		return err
	}
	return s.drive(ctx, rt, mod, in, pf)
}
