package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
)

// catWasm is a guest that prints the file named by its argument, opened
// under its first preopened directory (testdata/wat/cat.wat).
func catWasm() string { return filepath.Join(repoRoot, "testdata", "wat", "cat.wasm") }

// TestNodeVolumesConfineGuests: a node exposes only its named volumes. A
// start request for a host path ("/", "/etc", the volume's own host path),
// for a path that climbs out of a volume ("..", a symlink to /etc or to a
// directory outside), or for a volume the node lacks is refused with a
// clear error and a stable code; a guest given the volume reads what is in
// it and never a sentinel file outside it, whatever path it tries; a
// snapshot whose preopen is "/" (taken by `roam run` on the user's machine)
// is refused by the restore endpoint.
func TestNodeVolumesConfineGuests(t *testing.T) {
	vol, outside := t.TempDir(), t.TempDir()
	sentinel := "SENTINEL-" + rand.Text()
	writeFile(t, filepath.Join(outside, "shadow"), sentinel)
	writeFile(t, filepath.Join(vol, "hello.txt"), "hello from the volume\n")
	for link, to := range map[string]string{"escape": outside, "shadow-link": filepath.Join(outside, "shadow"), "etc": "/etc"} {
		if err := os.Symlink(to, filepath.Join(vol, link)); err != nil {
			t.Fatal(err)
		}
	}
	n := startNode(t, "v", nodeOpts{volumes: []string{"data=" + vol}})
	catPath := catWasm()
	ctx := context.Background()
	cl, err := client.New(n.url, poolToken)
	if err != nil {
		t.Fatal(err)
	}

	info, err := cl.Node(ctx)
	if err != nil || !slices.Equal(info.Volumes, []string{"data"}) {
		t.Errorf("GET /v1/node: %+v, %v; want volumes [data]", info, err)
	}
	if _, _, body := httpCall(t, http.MethodGet, n.url+"/v1/node", poolToken, nil); bytes.Contains(body, []byte(vol)) {
		t.Errorf("GET /v1/node shows the volume's host path: %s", body)
	}

	cat, err := os.ReadFile(catPath)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := cl.UploadModule(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	start := func(dir, path string) (*client.Instance, error) {
		return cl.Start(ctx, client.StartRequest{Module: digest, Args: []string{"cat.wasm", path}, Dirs: []string{dir}})
	}

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct{ dir, code, says string }{
			{"/", client.CodeBadRequest, "not host paths; want VOLUME[/PATH][:GUEST], a path inside one of the node's volumes (node v has volumes: data)"},
			{"/etc", client.CodeBadRequest, "not host paths"},
			{"/:/host", client.CodeBadRequest, "not host paths"},
			{vol + ":/data", client.CodeBadRequest, "not host paths"},
			{"../", client.CodeBadRequest, "VOLUME[/PATH][:GUEST]"},
			{"data/..:/x", client.CodeBadRequest, "climbs out of the volume"},
			{"data/../../etc:/x", client.CodeBadRequest, "climbs out of the volume"},
			{"data/etc:/x", client.CodeBadRequest, "leads out of the volume"},
			{"data/escape:/x", client.CodeBadRequest, "leads out of the volume"},
			{"other:/x", client.CodeUnknownVolume, `unknown volume "other" (this node has: data)`},
			{"data/missing:/x", client.CodeDirMissing, "missing"},
			{"data/hello.txt:/x", client.CodeBadRequest, "not a directory"},
		} {
			in, err := start(tc.dir, "hello.txt")
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status/100 != 4 || !strings.Contains(ae.Message, tc.says) {
				t.Errorf("start with dir %q: %+v, %v; want a 4xx %s saying %q", tc.dir, in, err, tc.code, tc.says)
			}
			if ae != nil && tc.dir != vol+":/data" && strings.Contains(ae.Message, vol) {
				t.Errorf("start with dir %q: the message shows the volume's host path: %q", tc.dir, ae.Message)
			}
		}
		if r := cli(t, n.url, "start", "--dir", "/etc:/host", catPath, "passwd"); r.code != 2 || !strings.Contains(string(r.stderr), "not host paths") {
			t.Errorf("roam start --dir /etc:/host: want a usage error (exit 2) saying nodes take volumes\n%v", r)
		}
		if msg := singleLineError(t, cli(t, n.url, "start", "--dir", "other:/x", catPath, "x")); !strings.Contains(msg, `unknown volume "other"`) {
			t.Errorf("roam start --dir other:/x: %q", msg)
		}
	})

	t.Run("guest", func(t *testing.T) {
		for _, path := range []string{"hello.txt", "escape/shadow", "shadow-link", "etc/passwd", "../shadow", "../../../../etc/passwd"} {
			in, err := start("data:/data", path)
			if err != nil {
				t.Fatalf("start cat %s: %v", path, err)
			}
			w, err := cl.Wait(ctx, in.ID)
			var out bytes.Buffer
			if err == nil {
				err = cl.Logs(ctx, in.ID, "stdout", false, &out)
			}
			switch {
			case err != nil:
				t.Errorf("cat %s: %v", path, err)
			case strings.Contains(out.String(), sentinel) || strings.Contains(out.String(), "root:"):
				t.Errorf("cat %s read a file outside the volume: %q", path, out.String())
			case path == "hello.txt" && (w.ExitCode != 0 || out.String() != "hello from the volume\n"):
				t.Errorf("cat hello.txt: exit %d, %q", w.ExitCode, out.String())
			case path != "hello.txt" && w.ExitCode < 100:
				t.Errorf("cat %s: exit %d, want 100+errno (path_open refused)", path, w.ExitCode)
			}
		}
	})

	t.Run("restore-root", func(t *testing.T) {
		snap := filepath.Join(t.TempDir(), "root.snap")
		if r := roam(t, "run", "--snapshot", snap, "--snapshot-after", "100ms", "--dir", "/:/host", wasmPath("c-sleep"), "100"); r.code != 0 {
			t.Fatalf("roam run --dir /:/host --snapshot-after: %v", r)
		}
		f, err := os.Open(snap)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		before, _ := cl.Instances(ctx)
		in, err := cl.Restore(ctx, f, false)
		t.Logf("restore: %v", err)
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Code != client.CodeBadRequest || !strings.Contains(ae.Message, "/host") || !strings.Contains(ae.Message, "not host paths") {
			t.Errorf("restore of a snapshot with preopen / at /host: %+v, %v; want bad_request naming /host and saying nodes take volumes", in, err)
		}
		if after, _ := cl.Instances(ctx); len(after) != len(before) {
			t.Errorf("the refused restore left an instance: %d before, %d after", len(before), len(after))
		}
	})
}

// TestNodeVolumeMigrationChecks: a move to a node without the instance's
// volume is refused before the source pauses; a move to a node whose
// volume holds a different copy of a file the instance has open is refused
// at restore, naming the file; either way the instance runs on where it
// was and ends as `roam run` does.
func TestNodeVolumeMigrationChecks(t *testing.T) {
	ps, _ := programs(t)
	p := find(t, ps, "c-files")
	args := []string{"1500"} // ~3 s: it must outlast two refused moves, the second one a pre-copy
	ref := nodeReference(t, p, args)
	a := startNode(t, "a", nodeOpts{volumes: []string{"data=" + t.TempDir()}})
	noVol := startNode(t, "novol", nodeOpts{volumes: []string{"other=" + t.TempDir()}})
	other := startNode(t, "other", nodeOpts{volumes: []string{"data=" + t.TempDir()}})
	data, spec := a.volumeDir(t, "data")
	// The other node's volume has the directory, with another log.txt.
	otherDir := filepath.Join(other.o.volumes[0][len("data="):], filepath.Base(data))
	if err := os.Mkdir(otherDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(otherDir, "log.txt"), "another log\n")

	id := mustCLI(t, a.url, "start", "--dir", spec+":/data", p.path, args[0])
	time.Sleep(300 * time.Millisecond)
	msg := singleLineError(t, cli(t, a.url, "migrate", id, "--to", noVol.url))
	t.Logf("to a node without the volume: %s", msg)
	if !strings.Contains(msg, `unknown volume "data"`) || strings.Contains(msg, "stop-and-copy") {
		t.Errorf("move to a node without volume data: %q; want unknown volume \"data\", refused before the source pauses", msg)
	}
	msg = singleLineError(t, cli(t, a.url, "migrate", id, "--to", other.url))
	t.Logf("to a node with another log.txt: %s", msg)
	if !strings.Contains(msg, "/data/log.txt") || !strings.Contains(msg, "changed since the snapshot") || !strings.Contains(msg, "still runs on the source") {
		t.Errorf("move to a node with another log.txt: %q; want it to name /data/log.txt as changed, the instance running on the source", msg)
	}
	if in, ok := listed(psJSON(t, a.url), id); !ok || in.Epoch != 1 || in.Status.Terminal() && in.ExitCode != 0 {
		t.Errorf("after the refused moves: %+v (listed %v), want it on a at epoch 1", in, ok)
	}
	w := cli(t, a.url, "wait", id)
	l := cli(t, a.url, "logs", id)
	sameOutcome(t, "c-files after two refused moves", outcome{stdout: ref.stdout, stderr: ref.stderr, code: ref.code, files: ref.files},
		outcome{stdout: l.stdout, stderr: l.stderr, code: w.code, files: dirState(t, data)})
	if got, _ := os.ReadFile(filepath.Join(otherDir, "log.txt")); string(got) != "another log\n" {
		t.Errorf("the refused destination's log.txt changed: %q", got)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestResumeRefusesChangedFile: `roam resume` of a snapshot whose open file
// changed since refuses to run (exit 1, one line naming the guest path and
// what differs); put back as it was, the snapshot resumes and ends as
// `roam run` does.
func TestResumeRefusesChangedFile(t *testing.T) {
	ps, _ := programs(t)
	p := find(t, ps, "c-files")
	args := []string{"300"}
	refData := t.TempDir()
	ref := roam(t, runArgs(p, refData, args)...)
	data := t.TempDir()
	snap := filepath.Join(t.TempDir(), "s.snap")
	first := roam(t, runArgs(p, data, args, "--snapshot", snap, "--snapshot-after", "200ms")...)
	if first.code != 0 {
		t.Fatalf("roam run --snapshot-after: %v", first)
	}
	log := filepath.Join(data, "log.txt")
	kept, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("c-files has no log.txt open at the snapshot: %v", err)
	}
	changed := bytes.Clone(kept)
	changed[0] ^= 1 // same size, other content
	writeFile(t, log, string(changed))
	msg := singleLineError(t, roam(t, "resume", snap))
	if !strings.Contains(msg, "/data/log.txt") || !strings.Contains(msg, "content differs") {
		t.Errorf("roam resume after log.txt changed: %q; want it to name /data/log.txt and say its content differs", msg)
	}
	writeFile(t, log, string(kept))
	r := roam(t, "resume", snap)
	sameOutcome(t, "run, then resumed with log.txt as it was", outcome{stdout: ref.stdout, stderr: ref.stderr, code: ref.code, files: dirState(t, refData)},
		outcome{stdout: append(first.stdout, r.stdout...), stderr: r.stderr, code: r.code, files: dirState(t, data)})
}
