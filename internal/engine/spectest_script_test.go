package engine

// The spec test scripts: the JSON that wast2json writes beside each .wast
// (commands module, register, assert_*, action), how their values are
// encoded and how results are compared (NaN classes as in the spec).

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type specScript struct {
	SourceFile string        `json:"source_filename"`
	Commands   []specCommand `json:"commands"`
}

type specCommand struct {
	Type       string      `json:"type"`
	Line       int         `json:"line"`
	Name       string      `json:"name"`     // module, register: the module's $name
	As         string      `json:"as"`       // register
	Filename   string      `json:"filename"` // module and the assert_* that hold one
	ModuleType string      `json:"module_type"`
	Text       string      `json:"text"`
	Action     specAction  `json:"action"`
	Expected   []specValue `json:"expected"`
}

type specAction struct {
	Type   string      `json:"type"` // invoke or get
	Module string      `json:"module"`
	Field  string      `json:"field"`
	Args   []specValue `json:"args"`
}

// specValue is a typed constant. Value is a string of the value's bits in
// decimal (or "nan:canonical", "nan:arithmetic", "null"), a list of lane
// strings for v128, or absent for "any reference".
type specValue struct {
	Type     string `json:"type"`
	LaneType string `json:"lane_type"`
	Value    any    `json:"value"`
}

func readSpecScript(path string) (*specScript, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s specScript
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

var (
	specWazeroOnce sync.Once
	specWazeroDir  string
	specWazeroErr  error
)

// specSuiteDir returns the testdata directory of one suite (v1, v2) of the
// spec tests that ship in the wazero module.
func specSuiteDir(tb testing.TB, suite string) string {
	specWazeroOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
		specWazeroDir, specWazeroErr = strings.TrimSpace(string(out)), err
	})
	if specWazeroErr != nil || specWazeroDir == "" {
		tb.Skipf("cannot locate the wazero module: %v", specWazeroErr)
	}
	return filepath.Join(specWazeroDir, "internal", "integration_test", "spectest", suite, "testdata")
}

func specScripts(tb testing.TB, suite string) []string {
	files, _ := filepath.Glob(filepath.Join(specSuiteDir(tb, suite), "*.json"))
	sort.Strings(files)
	if len(files) == 0 {
		tb.Fatalf("no spec scripts found for suite %s", suite)
	}
	return files
}

// words encodes a value as api.Function.Call takes and returns it: one
// uint64, two for a v128 (low half first). Externref n is n+1, as in
// wazero's runner, since 0 is null.
func (v specValue) words() ([]uint64, error) {
	if v.Type == "v128" {
		lanes, ok := v.Value.([]any)
		if !ok {
			return nil, fmt.Errorf("v128 value %v is not a lane list", v.Value)
		}
		width := laneWidth(v.LaneType)
		if width == 0 || len(lanes)*width != 128 {
			return nil, fmt.Errorf("v128 with %d lanes of %q", len(lanes), v.LaneType)
		}
		var lo, hi uint64
		for i, l := range lanes {
			s, _ := l.(string)
			bits, err := parseBits(s, width)
			if err != nil {
				return nil, err
			}
			pos := i * width
			if pos < 64 {
				lo |= bits << pos
			} else {
				hi |= bits << (pos - 64)
			}
		}
		return []uint64{lo, hi}, nil
	}
	if v.Value == nil {
		return []uint64{0}, nil
	}
	s, ok := v.Value.(string)
	if !ok {
		return nil, fmt.Errorf("%s value %v is not a string", v.Type, v.Value)
	}
	switch v.Type {
	case "i32", "f32":
		b, err := parseBits(s, 32)
		return []uint64{b}, err
	case "i64", "f64":
		b, err := parseBits(s, 64)
		return []uint64{b}, err
	case "externref":
		if s == "null" {
			return []uint64{0}, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return []uint64{n + 1}, err
	case "funcref":
		if s == "null" {
			return []uint64{0}, nil
		}
	}
	return nil, fmt.Errorf("unsupported value %s %q", v.Type, s)
}

func laneWidth(lane string) int {
	switch lane {
	case "i8":
		return 8
	case "i16":
		return 16
	case "i32", "f32":
		return 32
	case "i64", "f64":
		return 64
	}
	return 0
}

// parseBits parses a decimal constant of the given width (signed or
// unsigned). NaN classes get a representative; comparisons treat them apart.
func parseBits(s string, width int) (uint64, error) {
	switch s {
	case "nan:canonical", "nan:arithmetic":
		if width == 32 {
			return 0x7fc00000, nil
		}
		return 0x7ff8000000000000, nil
	}
	mask := uint64(math.MaxUint64)
	if width < 64 {
		mask = 1<<width - 1
	}
	if strings.HasPrefix(s, "-") {
		n, err := strconv.ParseInt(s, 10, width)
		return uint64(n) & mask, err
	}
	n, err := strconv.ParseUint(s, 10, width)
	return n & mask, err
}

func specArgs(vs []specValue) ([]uint64, error) {
	var out []uint64
	for _, v := range vs {
		w, err := v.words()
		if err != nil {
			return nil, err
		}
		out = append(out, w...)
	}
	return out, nil
}

// specResultsMatch compares results with the expected values, NaN classes
// as in the spec: nan:canonical is a NaN with only the payload's top bit set
// (either sign), nan:arithmetic is any NaN with the payload's top bit set.
func specResultsMatch(got []uint64, exp []specValue) (bool, error) {
	n := 0
	for _, e := range exp {
		if e.Type == "v128" {
			n += 2
		} else {
			n++
		}
	}
	if len(got) != n {
		return false, nil
	}
	i := 0
	for _, e := range exp {
		if e.Type == "v128" {
			lo, hi := got[i], got[i+1]
			i += 2
			ok, err := v128Match(lo, hi, e)
			if err != nil || !ok {
				return ok, err
			}
			continue
		}
		g := got[i]
		i++
		s, _ := e.Value.(string)
		switch e.Type {
		case "i32":
			w, err := e.words()
			if err != nil {
				return false, err
			}
			if uint32(g) != uint32(w[0]) {
				return false, nil
			}
		case "f32":
			if !floatMatch(uint64(uint32(g)), s, 32) {
				return false, nil
			}
		case "f64":
			if !floatMatch(g, s, 64) {
				return false, nil
			}
		case "funcref", "externref":
			if e.Value == nil { // any non-null reference
				if g == 0 {
					return false, nil
				}
				continue
			}
			w, err := e.words()
			if err != nil {
				return false, err
			}
			if g != w[0] {
				return false, nil
			}
		default:
			w, err := e.words()
			if err != nil {
				return false, err
			}
			if g != w[0] {
				return false, nil
			}
		}
	}
	return true, nil
}

func v128Match(lo, hi uint64, e specValue) (bool, error) {
	lanes, _ := e.Value.([]any)
	width := laneWidth(e.LaneType)
	if width == 0 || len(lanes)*width != 128 {
		return false, fmt.Errorf("v128 with %d lanes of %q", len(lanes), e.LaneType)
	}
	float := e.LaneType == "f32" || e.LaneType == "f64"
	mask := uint64(math.MaxUint64)
	if width < 64 {
		mask = 1<<width - 1
	}
	for i, l := range lanes {
		s, _ := l.(string)
		pos := i * width
		var g uint64
		if pos < 64 {
			g = lo >> pos & mask
		} else {
			g = hi >> (pos - 64) & mask
		}
		if float {
			if !floatMatch(g, s, width) {
				return false, nil
			}
			continue
		}
		w, err := parseBits(s, width)
		if err != nil {
			return false, err
		}
		if g != w {
			return false, nil
		}
	}
	return true, nil
}

// floatMatch compares the bits of a float of the given width with an
// expected constant, bit for bit unless it names a NaN class.
func floatMatch(g uint64, s string, width int) bool {
	var expMask, quiet uint64 = 0x7f800000, 0x00400000
	if width == 64 {
		expMask, quiet = 0x7ff0000000000000, 0x0008000000000000
	}
	signless := g &^ (1 << (width - 1))
	switch s {
	case "nan:canonical":
		return signless == expMask|quiet
	case "nan:arithmetic":
		return g&expMask == expMask && g&quiet != 0
	}
	w, err := parseBits(s, width)
	return err == nil && g == w
}

// formatSpecValues prints expected values for failure messages.
func formatSpecValues(vs []specValue) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		switch val := v.Value.(type) {
		case []any:
			parts[i] = fmt.Sprintf("v128:%s%v", v.LaneType, val)
		case nil:
			parts[i] = v.Type + ":<any>"
		default:
			parts[i] = fmt.Sprintf("%s:%v", v.Type, val)
			if w, err := v.words(); err == nil && (v.Type == "f32" || v.Type == "f64") && !strings.HasPrefix(fmt.Sprint(val), "nan") {
				parts[i] += "(" + formatFloat(w[0], v.Type == "f32") + ")"
			}
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// formatWords prints results with the expected values' types when known.
func formatWords(ws []uint64, exp []specValue) string {
	var parts []string
	i := 0
	for _, e := range exp {
		if i >= len(ws) {
			break
		}
		switch e.Type {
		case "v128":
			if i+1 < len(ws) {
				parts = append(parts, fmt.Sprintf("v128:%#016x_%016x", ws[i+1], ws[i]))
			}
			i += 2
			continue
		case "i32":
			parts = append(parts, fmt.Sprintf("i32:%d", uint32(ws[i])))
		case "f32":
			parts = append(parts, fmt.Sprintf("f32:%d(%s)", uint32(ws[i]), formatFloat(ws[i], true)))
		case "f64":
			parts = append(parts, fmt.Sprintf("f64:%d(%s)", ws[i], formatFloat(ws[i], false)))
		default:
			parts = append(parts, fmt.Sprintf("%s:%d", e.Type, ws[i]))
		}
		i++
	}
	for ; i < len(ws); i++ {
		parts = append(parts, fmt.Sprintf("%#x", ws[i]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func formatFloat(bits uint64, f32 bool) string {
	if f32 {
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(bits))), 'g', -1, 32)
	}
	return strconv.FormatFloat(math.Float64frombits(bits), 'g', -1, 64)
}

// specTrapMessages maps the spec's trap texts to wazero's messages (a trap
// whose text is not here only has to be a trap).
var specTrapMessages = map[string]string{
	"out of bounds memory access":   "out of bounds memory access",
	"indirect call type mismatch":   "indirect call type mismatch",
	"indirect call":                 "indirect call type mismatch",
	"undefined element":             "invalid table access",
	"undefined":                     "invalid table access",
	"out of bounds table access":    "invalid table access",
	"uninitialized element":         "invalid table access",
	"uninitialized element 2":       "invalid table access",
	"integer overflow":              "integer overflow",
	"invalid conversion to integer": "invalid conversion to integer",
	"integer divide by zero":        "integer divide by zero",
	"unreachable":                   "unreachable",
	"call stack exhausted":          "stack overflow",
	"null":                          "null reference",
	"null reference":                "null reference",
}
