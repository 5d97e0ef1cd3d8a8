// Command go-bigmod is a Roam benchmark guest whose point is its size: it
// links reflection-heavy parts of Go's standard library (encoding/json,
// fmt, regexp, compress/flate) so that the module is over 3 MB, the size
// the instrumentation benchmark times. Each round builds 400 records, round
// trips them through JSON, formats them as report lines, scans the lines
// with a regexp, round trips the JSON through flate and prints a checksum.
//
// Usage: go-bigmod [N]   N = number of rounds (default 10).
package main

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Record is what the JSON and report steps carry.
type Record struct {
	ID    int               `json:"id"`
	Name  string            `json:"name"`
	Tags  []string          `json:"tags"`
	Score float64           `json:"score"`
	Attrs map[string]string `json:"attrs"`
}

var names = []string{"alpha", "beta", "gamma", "delta", "edge", "cloud", "node", "frame"}

func records(r *rng, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{
			ID:    i,
			Name:  names[r.next()%uint64(len(names))] + "-" + strconv.Itoa(int(r.next()%1000)),
			Tags:  []string{names[r.next()%8], names[r.next()%8]},
			Score: float64(r.next()%10000) / 100,
			Attrs: map[string]string{"k" + strconv.Itoa(i%5): names[i%8]},
		}
	}
	return out
}

func jsonStep(recs []Record) []byte {
	b, err := json.Marshal(recs)
	check(err)
	var back []Record
	check(json.Unmarshal(b, &back))
	if len(back) != len(recs) || back[len(back)-1].Name != recs[len(recs)-1].Name {
		fail("json round trip differs")
	}
	return b
}

func reportStep(recs []Record) []byte {
	var buf bytes.Buffer
	for _, r := range recs {
		fmt.Fprintf(&buf, "%d %s", r.ID, strings.ToUpper(r.Name))
		for _, t := range r.Tags {
			buf.WriteString(" #" + t)
		}
		fmt.Fprintf(&buf, " %.2f\n", r.Score)
	}
	return buf.Bytes()
}

var wordRE = regexp.MustCompile(`([A-Z]+)-([0-9]+)`)

func regexpStep(text []byte) uint64 {
	var sum uint64
	for _, m := range wordRE.FindAllSubmatch(text, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		sum = sum*31 + uint64(n) + uint64(len(m[1]))
	}
	return sum
}

func flateStep(data []byte) int {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	check(err)
	_, err = w.Write(data)
	check(err)
	check(w.Close())
	n := buf.Len()
	back, err := io.ReadAll(flate.NewReader(&buf))
	check(err)
	if !bytes.Equal(back, data) {
		fail("flate round trip differs")
	}
	return n
}

func main() {
	rounds := 10
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil && n > 0 {
			rounds = n
		}
	}
	r := rng(42)
	total := fnv.New64a()
	for round := 0; round < rounds; round++ {
		recs := records(&r, 400)
		js := jsonStep(recs)
		ts := reportStep(recs)
		re := regexpStep(bytes.ToUpper(ts))
		fl := flateStep(js)
		keys := make([]string, 0, len(recs[0].Attrs))
		for k := range recs[0].Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		total.Write(js)
		total.Write(ts)
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], re+uint64(fl))
		total.Write(w[:])
		total.Write([]byte(strings.Join(keys, ",")))
		fmt.Printf("step %d json %d report %d flate %d checksum %016x\n",
			round, len(js), len(ts), fl, total.Sum64())
	}
	fmt.Printf("done checksum %016x\n", total.Sum64())
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "go-bigmod:", msg)
	os.Exit(1)
}
