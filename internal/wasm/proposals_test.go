package wasm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestProposalSpecs decodes the threads and tail-call proposal tests, which
// wazero's CoreFeaturesV2 refuses but Decode must model (so the transform
// can refuse them by name), and checks that exception handling is refused.
func TestProposalSpecs(t *testing.T) {
	for _, suite := range []string{"threads", "tail-call"} {
		var valid, identical, invalidRejected, invalid int
		for _, path := range specFiles(t, suite) {
			verdict := specVerdicts(t, filepath.Dir(path))[filepath.Base(path)]
			b, err := os.ReadFile(path)
			require(t, err == nil, "%v", err)
			m, err := Decode(b)
			if err == nil {
				err = m.Validate()
			}
			if !specValid(verdict) {
				invalid++
				if err != nil {
					invalidRejected++
				}
				continue
			}
			valid++
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
				continue
			}
			if bytes.Equal(Encode(m), b) {
				identical++
			}
		}
		t.Logf("%s: %d valid binaries, %d re-encode byte for byte; %d of %d invalid ones rejected",
			suite, valid, identical, invalidRejected, invalid)
	}
	unsupported, files := 0, specFiles(t, "exception-handling")
	for _, path := range files {
		b, err := os.ReadFile(path)
		require(t, err == nil, "%v", err)
		m, err := Decode(b)
		if err == nil {
			err = m.Validate()
		}
		switch {
		case errors.Is(err, ErrUnsupported):
			unsupported++
		case err == nil:
			t.Errorf("%s: exception-handling module accepted", filepath.Base(path))
		}
	}
	t.Logf("exception-handling: %d binaries, all rejected, %d of them as unsupported (the rest use other proposals' types)",
		len(files), unsupported)
}

// TestNonCanonicalEquivalent checks that when the re-encoding of a spec
// binary is not byte-identical, it decodes to the same module.
func TestNonCanonicalEquivalent(t *testing.T) {
	n := 0
	for _, path := range specFiles(t, "v2") {
		b, _ := os.ReadFile(path)
		m, err := Decode(b)
		if err != nil {
			continue
		}
		out := Encode(m)
		if bytes.Equal(out, b) {
			continue
		}
		n++
		m2, err := Decode(out)
		if err != nil {
			t.Errorf("%s: re-encoding does not decode: %v", filepath.Base(path), err)
			continue
		}
		m2.KeepEmpty = m.KeepEmpty
		if !reflect.DeepEqual(m, m2) {
			t.Errorf("%s: re-encoding decodes to a different module", filepath.Base(path))
		}
	}
	t.Logf("%d v2 binaries re-encode differently, all to an equal module", n)
}

// TestRealWorldModules round-trips and validates the compiler-produced
// modules (C, Go, Rust) in the repository's testdata.
func TestRealWorldModules(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/wasm/*.wasm")
	if len(files) == 0 {
		t.Skip("no modules in ../../testdata/wasm")
	}
	for _, path := range files {
		b := mustRead(t, path)
		start := time.Now()
		m, err := Decode(b)
		require(t, err == nil, "%s: Decode: %v", path, err)
		decoded := time.Since(start)
		out := Encode(m)
		if !bytes.Equal(out, b) {
			m2, err := Decode(out)
			require(t, err == nil, "%s: re-encoding does not decode: %v", path, err)
			require(t, bytes.Equal(Encode(m2), out), "%s: re-encoding is not stable", path)
			t.Logf("%s: re-encoding differs (%d vs %d bytes: the input pads LEB128 numbers)", filepath.Base(path), len(out), len(b))
		}
		start = time.Now()
		require(t, m.Validate() == nil, "%s: Validate: %v", path, m.Validate())
		t.Logf("%s: %d functions, decode %v, validate %v", filepath.Base(path), len(m.Funcs), decoded, time.Since(start))
	}
}
