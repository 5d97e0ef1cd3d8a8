// Command go-collections is a Roam test guest: maps (printed in sorted key
// order), slices, sort.Slice with a comparator, strings.Builder,
// interfaces (fmt.Stringer and a Shape interface), closures and a deep
// recursion (DEPTH frames, default 10000).
//
// Usage: go-collections [N] [DEPTH]
//
//	N     = number of rounds (default 10)
//	DEPTH = recursion depth (default 10000)
package main

import (
	"fmt"
	"math"
	"os"
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

func (r *rng) below(n uint64) uint64 { return r.next() % n }

type Shape interface {
	Area() float64
	fmt.Stringer
}

type circle struct{ r float64 }
type rect struct{ w, h float64 }

func (c circle) Area() float64    { return math.Pi * c.r * c.r }
func (c circle) String() string   { return fmt.Sprintf("circle(%.2f)", c.r) }
func (r rect) Area() float64      { return r.w * r.h }
func (r rect) String() string     { return fmt.Sprintf("rect(%.2fx%.2f)", r.w, r.h) }
func (p *point) String() string   { return fmt.Sprintf("(%d,%d)", p.x, p.y) }
func (p *point) manhattan() int64 { return abs(p.x) + abs(p.y) }

type point struct{ x, y int64 }

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func mix(h, v uint64) uint64 {
	return h ^ (v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2))
}

// tree is a binary tree built and walked recursively.
type tree struct {
	left, right *tree
	val         uint64
}

func insert(t *tree, v uint64) *tree {
	if t == nil {
		return &tree{val: v}
	}
	if v < t.val {
		t.left = insert(t.left, v)
	} else {
		t.right = insert(t.right, v)
	}
	return t
}

func (t *tree) height() int {
	if t == nil {
		return 0
	}
	l, r := t.left.height(), t.right.height()
	if l > r {
		return l + 1
	}
	return r + 1
}

// deep recurses depth frames; not a tail call.
func deep(depth int, acc uint64) uint64 {
	if depth == 0 {
		return acc
	}
	var pad [4]uint64 // some stack space per frame
	pad[depth&3] = acc + uint64(depth)
	r := deep(depth-1, acc*31+uint64(depth))
	return r ^ pad[depth&3]
}

func round(r int, depth int, sb *strings.Builder) uint64 {
	g := rng(uint64(r)*7919 + 1)
	h := uint64(0)

	// slices: append, copy, sort.Slice with comparator, filtering in place
	nums := make([]uint64, 0, 16)
	for i := 0; i < 60000; i++ {
		nums = append(nums, g.below(1000000))
	}
	desc := r%2 == 1
	sort.Slice(nums, func(i, j int) bool {
		if desc {
			return nums[i] > nums[j]
		}
		return nums[i] < nums[j]
	})
	kept := nums[:0]
	for _, v := range nums {
		if v%3 != 0 {
			kept = append(kept, v)
		}
	}
	cp := make([]uint64, len(kept))
	copy(cp, kept)
	for i := 0; i < len(cp); i += 101 {
		h = mix(h, cp[i])
	}

	// maps: counts by word, printed in sorted key order
	words := []string{"amber", "birch", "cedar", "dune", "ember", "fjord", "grove", "heath"}
	counts := map[string]int{}
	lengths := map[int][]string{}
	for i := 0; i < 30000; i++ {
		w := words[g.below(uint64(len(words)))] + "-" + strconv.Itoa(int(g.below(40)))
		counts[w]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
		lengths[len(k)] = append(lengths[len(k)], k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h = mix(h, uint64(counts[k])*uint64(len(k)))
	}
	// top three by count then name
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	lens := make([]int, 0, len(lengths))
	for l := range lengths {
		lens = append(lens, l)
	}
	sort.Ints(lens)

	// strings.Builder and string functions
	var b strings.Builder
	for i, k := range keys[:5] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.ToUpper(k[:1]))
		b.WriteString(k[1:])
		fmt.Fprintf(&b, "=%d", counts[k])
	}
	joined := b.String()
	fields := strings.FieldsFunc(joined, func(c rune) bool { return c == ',' || c == '=' })
	h = mix(h, uint64(len(fields)))
	h = mix(h, uint64(strings.Count(joined, "e")))

	// interfaces: a []Shape sorted by area, and a Stringer on a pointer
	shapes := make([]Shape, 0, 1000)
	for i := 0; i < 1000; i++ {
		if g.below(2) == 0 {
			shapes = append(shapes, circle{r: float64(g.below(1000)) / 100})
		} else {
			shapes = append(shapes, rect{w: float64(g.below(1000)) / 100, h: float64(g.below(1000)) / 100})
		}
	}
	sort.SliceStable(shapes, func(i, j int) bool { return shapes[i].Area() < shapes[j].Area() })
	area := 0.0
	for _, s := range shapes {
		area += s.Area()
	}
	h = mix(h, math.Float64bits(area))
	p := &point{x: int64(g.below(100)) - 50, y: int64(g.below(100)) - 50}
	var st fmt.Stringer = p

	// closures: a counter generator and a pipeline of funcs
	counter := func() func() int {
		n := 0
		return func() int { n++; return n }
	}()
	for i := 0; i < 10; i++ {
		counter()
	}
	pipeline := []func(uint64) uint64{
		func(x uint64) uint64 { return x * 3 },
		func(x uint64) uint64 { return x ^ uint64(r) },
		func(x uint64) uint64 { return x<<7 | x>>57 },
	}
	v := h
	for _, f := range pipeline {
		v = f(v)
	}
	h = mix(h, v+uint64(counter()))

	// recursion: a deep chain and a random BST
	h = mix(h, deep(depth, uint64(r)))
	var root *tree
	for i := 0; i < 2000; i++ {
		root = insert(root, g.next())
	}
	h = mix(h, uint64(root.height()))

	fmt.Fprintf(sb, "  round %d: kept %d top %s lens %v largest %v point %v dist %d\n",
		r, len(kept), joined, lens, shapes[len(shapes)-1], st, p.manhattan())
	return h
}

func main() {
	rounds, depth := 10, 10000
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil && n > 0 {
			rounds = n
		}
	}
	if len(os.Args) > 2 {
		if n, err := strconv.Atoi(os.Args[2]); err == nil && n > 0 {
			depth = n
		}
	}
	total := uint64(0)
	for r := 0; r < rounds; r++ {
		var sb strings.Builder
		total = mix(total, round(r, depth, &sb))
		fmt.Print(sb.String())
		fmt.Printf("step %d checksum %016x\n", r, total)
	}
	fmt.Printf("recursion depth %d\n", depth)
	fmt.Printf("done checksum %016x\n", total)
}
