package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

var (
	wazeroDirOnce sync.Once
	wazeroDirPath string
	wazeroDirErr  error
)

// wazeroDir returns the directory of the wazero module, whose spec test
// binaries the tests use.
func wazeroDir(tb testing.TB) string {
	wazeroDirOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
		wazeroDirPath, wazeroDirErr = strings.TrimSpace(string(out)), err
	})
	if wazeroDirErr != nil || wazeroDirPath == "" {
		tb.Skipf("cannot locate the wazero module: %v", wazeroDirErr)
	}
	return wazeroDirPath
}

// specFiles lists the spec test binaries of the given suites (v1, v2, ...)
// and skips the test when there are none.
func specFiles(tb testing.TB, suites ...string) []string {
	files := findSpecFiles(wazeroDir(tb), suites...)
	if len(files) == 0 {
		tb.Skip("no spec test binaries found")
	}
	return files
}

func findSpecFiles(dir string, suites ...string) []string {
	var files []string
	for _, s := range suites {
		glob := filepath.Join(dir, "internal", "integration_test", "spectest", s, "testdata", "*.wasm")
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

// specVerdicts maps each binary of a spec test directory to the command
// that uses it in the .json files wast2json wrote ("module",
// "assert_invalid", "assert_malformed", ...).
func specVerdicts(tb testing.TB, dir string) map[string]string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require(tb, err == nil, "%v", err)
		var script struct {
			Commands []struct{ Type, Filename string }
		}
		require(tb, json.Unmarshal(b, &script) == nil, "%s: bad json", f)
		for _, c := range script.Commands {
			if c.Filename != "" {
				out[c.Filename] = c.Type
			}
		}
	}
	return out
}

func specValid(verdict string) bool {
	return verdict != "assert_invalid" && verdict != "assert_malformed"
}

type specCounts struct {
	accepted, identical, reencodedOK, rejected, rejectedToo, stricter int
	acceptedByUs, specDisagrees                                       []string
}

func TestSpecRoundTrip(t *testing.T) {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	defer rt.Close(ctx)
	compiles := func(b []byte) error {
		cm, err := rt.CompileModule(ctx, b)
		if err == nil {
			cm.Close(ctx)
		}
		return err
	}
	var c specCounts
	verdicts := map[string]map[string]string{}
	for _, path := range specFiles(t, "v1", "v2") {
		dir := filepath.Dir(path)
		if verdicts[dir] == nil {
			verdicts[dir] = specVerdicts(t, dir)
		}
		b, err := os.ReadFile(path)
		require(t, err == nil, "%v", err)
		suite := filepath.Base(filepath.Dir(dir))
		name := suite + "/" + filepath.Base(path)
		spec := verdicts[dir][filepath.Base(path)]
		m, err := Decode(b)
		if err == nil {
			err = m.Validate()
		}
		if suite == "v2" && (err == nil) != specValid(spec) {
			c.specDisagrees = append(c.specDisagrees, fmt.Sprintf("%s (%s): %v", name, spec, err))
		}
		if werr := compiles(b); werr != nil {
			c.rejected++
			if err != nil {
				c.rejectedToo++
			} else {
				c.acceptedByUs = append(c.acceptedByUs, name+": "+werr.Error())
			}
			continue
		}
		c.accepted++
		if m == nil {
			t.Errorf("%s: wazero accepts it, Decode fails: %v", name, err)
			continue
		}
		checkAccepted(t, name, b, m, &c, compiles, specValid(spec))
	}
	t.Logf("wazero accepts %d binaries: %d re-encode byte for byte, %d differ (non-canonical input) but wazero accepts the re-encoding; %d are invalid per the spec and Validate rejects them",
		c.accepted, c.identical, c.reencodedOK, c.stricter)
	t.Logf("wazero rejects %d binaries: Decode+Validate rejects %d, accepts %d", c.rejected, c.rejectedToo, len(c.acceptedByUs))
	for _, s := range c.acceptedByUs {
		t.Logf("  accepted although wazero rejects: %s", s)
	}
	t.Logf("v2 binaries where Decode+Validate disagrees with the spec's verdict: %d", len(c.specDisagrees))
	for _, s := range c.specDisagrees {
		t.Logf("  %s", s)
	}
}

func checkAccepted(t *testing.T, name string, b []byte, m *Module, c *specCounts, compiles func([]byte) error, valid bool) {
	t.Helper()
	out := Encode(m)
	switch {
	case bytes.Equal(out, b):
		c.identical++
	case compiles(out) == nil:
		c.reencodedOK++
	default:
		t.Errorf("%s: wazero rejects the re-encoding: %v", name, compiles(out))
	}
	for i := range m.Funcs {
		if err := m.WalkFunc(i, nil); err != nil {
			t.Errorf("%s: WalkFunc: %v", name, err)
		}
	}
	if err := m.Validate(); err != nil {
		if valid {
			t.Errorf("%s: Validate: %v", name, err)
		}
		c.stricter++
	}
}

// require fails the test immediately unless ok.
func require(tb testing.TB, ok bool, format string, args ...any) {
	tb.Helper()
	if !ok {
		tb.Fatalf(format, args...)
	}
}
