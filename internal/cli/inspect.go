package cli

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/wasi"
)

func (s *streams) snapshotCmd() *cobra.Command {
	c := &cobra.Command{Use: "snapshot", Short: "Work with snapshot files"}
	var asJSON bool
	inspect := &cobra.Command{
		Use:   "inspect [--json] SNAPSHOT",
		Short: "Show what a snapshot holds",
		Args:  usageArgs(1, "SNAPSHOT"),
		RunE: func(c *cobra.Command, args []string) error {
			snap, err := snapshot.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read snapshot: %w", err)
			}
			v := describe(snap)
			if asJSON {
				enc := json.NewEncoder(s.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			v.print(s.stdout)
			return nil
		},
	}
	inspect.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(inspect)
	return c
}

// inspection is what `snapshot inspect` shows.
type inspection struct {
	Module           string        `json:"module"`
	Digest           string        `json:"digest"`
	TakenAt          time.Time     `json:"taken_at"`
	Engine           string        `json:"engine"`
	Entry            string        `json:"entry"`
	TransformVersion uint32        `json:"transform_version"`
	MemoryPages      uint32        `json:"memory_pages"`
	MemoryNonZero    int           `json:"memory_nonzero_bytes"`
	Globals          int           `json:"globals"`
	Frames           []frameView   `json:"frames"`
	WASI             *wasi.Summary `json:"wasi,omitempty"`
	WASIError        string        `json:"wasi_error,omitempty"`
}

type frameView struct {
	Func   uint32 `json:"func"`
	Name   string `json:"name"`
	Site   uint32 `json:"site"`
	Values int    `json:"values"`
}

func describe(s *snapshot.Snapshot) inspection {
	v := inspection{
		Module: s.ModuleName, Digest: hex.EncodeToString(s.ModuleDigest[:]), TakenAt: s.TakenAt,
		Engine: s.Engine, Entry: s.Entry, TransformVersion: s.TransformVersion,
		MemoryPages: s.MemoryPages, Globals: len(s.Globals),
	}
	for _, b := range s.Memory {
		if b != 0 {
			v.MemoryNonZero++
		}
	}
	for _, f := range s.Frames {
		name := s.FuncNames[f.Func]
		if name == "" {
			name = fmt.Sprintf("func[%d]", f.Func)
		}
		v.Frames = append(v.Frames, frameView{Func: f.Func, Name: name, Site: f.Site, Values: len(f.Values)})
	}
	if sum, err := wasi.Describe(s.WASI); err != nil {
		v.WASIError = err.Error()
	} else {
		v.WASI = &sum
	}
	return v
}

func (v inspection) print(w io.Writer) {
	fmt.Fprintf(w, "module:    %s (sha256 %s)\n", v.Module, v.Digest)
	fmt.Fprintf(w, "taken:     %s (%s ago) on the %s engine\n", v.TakenAt.Local().Format(time.RFC3339), time.Since(v.TakenAt).Round(time.Second), v.Engine)
	fmt.Fprintf(w, "memory:    %d pages (%.1f MiB), %d non-zero bytes\n", v.MemoryPages, float64(v.MemoryPages)/16, v.MemoryNonZero)
	fmt.Fprintf(w, "globals:   %d\n", v.Globals)
	fmt.Fprintf(w, "entry:     %s\n", v.Entry)
	fmt.Fprintf(w, "frames:    %d (innermost last)\n", len(v.Frames))
	for i, f := range v.Frames {
		fmt.Fprintf(w, "  #%-3d %s (func %d) at safe point %d, %d values\n", i, f.Name, f.Func, f.Site, f.Values)
	}
	if v.WASI == nil {
		fmt.Fprintf(w, "wasi:      unreadable: %s\n", v.WASIError)
		return
	}
	fmt.Fprintf(w, "clock:     guest monotonic %s\n", v.WASI.Monotonic)
	fmt.Fprintf(w, "stdio:     %d bytes written to stdout, %d to stderr\n", v.WASI.StdoutBytes, v.WASI.StderrBytes)
	fmt.Fprintf(w, "open fds:  %d\n", len(v.WASI.FDs))
	for _, fd := range v.WASI.FDs {
		fmt.Fprintf(w, "  %-3d %-6s %s", fd.FD, fd.Kind, fd.GuestPath)
		if fd.HostPath != "" {
			fmt.Fprintf(w, " -> %s", fd.HostPath)
		}
		if fd.Volume != "" {
			fmt.Fprintf(w, " -> volume %s", fd.Volume)
		}
		if fd.Kind == "file" {
			fmt.Fprintf(w, " at offset %d", fd.Offset)
		}
		fmt.Fprintln(w)
	}
}
