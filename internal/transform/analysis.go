package transform

import (
	"fmt"
	"strings"

	"github.com/roam-edge/roam/internal/wasm"
)

// refuseUnsupported rejects what migratable mode cannot capture, naming the
// feature and the function.
func refuseUnsupported(m *wasm.Module) error {
	for _, mem := range m.Memories {
		if mem.Shared {
			return &Error{Feature: "shared memory (threads) is not supported in migratable mode"}
		}
	}
	for _, im := range m.Imports {
		if im.Kind == wasm.ExternMemory && im.Memory.Shared {
			return &Error{Feature: "shared memory (threads) is not supported in migratable mode"}
		}
	}
	for _, im := range m.Imports {
		if im.Module == HostModule {
			return &Error{Feature: fmt.Sprintf("the module imports %s.%s: module name %q is reserved", im.Module, im.Name, HostModule)}
		}
	}
	for _, e := range m.Exports {
		if strings.HasPrefix(e.Name, HostModule+".") {
			return &Error{Feature: fmt.Sprintf("the module exports %q: the prefix %q is reserved", e.Name, HostModule+".")}
		}
	}
	names := m.FuncNames()
	nImp := uint32(m.NumImported(wasm.ExternFunc))
	for i := range m.Funcs {
		if f := unsupportedIn(m.Funcs[i].Body); f != "" {
			idx := nImp + uint32(i)
			return &Error{Func: idx, Name: names[idx], Feature: f, inFunc: true}
		}
	}
	return nil
}

func unsupportedIn(body []wasm.Instr) string {
	for _, in := range body {
		switch {
		case in.Op&0xFFFF0000 == wasm.PrefixThreads:
			return fmt.Sprintf("threads (%s) are not supported in migratable mode", wasm.Name(in.Op))
		case in.Op == wasm.OpReturnCall || in.Op == wasm.OpReturnCallIndirect:
			return fmt.Sprintf("tail calls (%s) are not supported in migratable mode", wasm.Name(in.Op))
		case in.Op == wasm.OpTableSet || in.Op == wasm.OpTableGrow || in.Op == wasm.OpTableFill ||
			in.Op == wasm.OpTableCopy || in.Op == wasm.OpTableInit:
			return fmt.Sprintf("mutating a table (%s) is not supported in migratable mode", wasm.Name(in.Op))
		}
	}
	return ""
}

// analysis holds, per defined function, whether it may unwind and whether it
// needs a poll at its entry (see callsOwnCycleOutsideLoops).
type analysis struct {
	mayUnwind []bool
	entryPoll []bool
}

// analyse computes which functions can reach a safe point. Indirect calls
// are conservative: any function of the same signature in a table, or whose
// reference is taken, may be the callee.
func analyse(m *wasm.Module, blockingImport func(idx uint32) bool) analysis {
	nImp := uint32(m.NumImported(wasm.ExternFunc))
	n := len(m.Funcs)
	callees := make([][]uint32, n)
	hasLoop := make([]bool, n)
	indirect := make([][]uint32, n) // type indices of call_indirect
	for i := range m.Funcs {
		for _, in := range m.Funcs[i].Body {
			switch in.Op {
			case wasm.OpLoop:
				hasLoop[i] = true
			case wasm.OpCall:
				callees[i] = append(callees[i], uint32(in.Imm))
			case wasm.OpCallIndirect:
				indirect[i] = append(indirect[i], uint32(in.Imm))
			}
		}
	}
	byType := addressTakenByType(m)
	for i := range indirect {
		for _, ti := range indirect[i] {
			callees[i] = append(callees[i], byType[typeKeyOf(m, ti)]...)
		}
	}
	a := analysis{mayUnwind: make([]bool, n), entryPoll: make([]bool, n)}
	onCycle, comp := recursive(callees, nImp)
	for i := 0; i < n; i++ {
		a.entryPoll[i] = onCycle[i] && callsOwnCycleOutsideLoops(m, i, comp, byType)
		a.mayUnwind[i] = hasLoop[i] || onCycle[i]
		for _, c := range callees[i] {
			if c < nImp && blockingImport(c) {
				a.mayUnwind[i] = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for i := 0; i < n; i++ {
			if a.mayUnwind[i] {
				continue
			}
			for _, c := range callees[i] {
				if c >= nImp && a.mayUnwind[c-nImp] {
					a.mayUnwind[i], changed = true, true
					break
				}
			}
		}
	}
	return a
}

// callsOwnCycleOutsideLoops reports whether function i (on a cycle of the
// call graph) may call a function of its own cycle outside every loop. It
// needs a poll at its entry then, since a recursion could otherwise run
// without polling. When all such calls are in loops, the loop header polls
// before each of them, and a cycle through i meets a poll: every cycle
// passes through a call of this kind in each of its functions. Naive
// recursive Fibonacci compiled by clang is such a function: one of its two
// calls becomes a loop around the other.
func callsOwnCycleOutsideLoops(m *wasm.Module, i int, comp []int, byType map[string][]uint32) bool {
	nImp := uint32(m.NumImported(wasm.ExternFunc))
	same := func(f uint32) bool { return f >= nImp && comp[f-nImp] == comp[i] }
	body := m.Funcs[i].Body
	ends := constructEnds(body)
	for pc := 0; pc < len(body); pc++ {
		switch in := body[pc]; in.Op {
		case wasm.OpLoop:
			pc = ends[pc] // its header polls before any call in it
		case wasm.OpCall:
			if same(uint32(in.Imm)) {
				return true
			}
		case wasm.OpCallIndirect:
			for _, f := range byType[typeKeyOf(m, uint32(in.Imm))] {
				if same(f) {
					return true
				}
			}
		}
	}
	return false
}

func typeKeyOf(m *wasm.Module, ti uint32) string {
	if int(ti) >= len(m.Types) {
		return ""
	}
	return sigKey(m.Types[ti])
}

// addressTakenByType groups the functions that can be called indirectly
// (in an element segment, or referenced by ref.func) by signature.
func addressTakenByType(m *wasm.Module) map[string][]uint32 {
	taken := map[uint32]bool{}
	for _, e := range m.Elems {
		for _, f := range e.Funcs {
			taken[f] = true
		}
		for _, x := range e.Exprs {
			markRefFuncs(x, taken)
		}
	}
	for _, g := range m.Globals {
		markRefFuncs(g.Init, taken)
	}
	for _, f := range m.Funcs {
		markRefFuncs(f.Body, taken)
	}
	for _, e := range m.Exports {
		if e.Kind == wasm.ExternFunc {
			taken[e.Index] = true // a host may put it in a table
		}
	}
	out := map[string][]uint32{}
	for f := range taken {
		if sig, ok := m.FuncTypeOf(f); ok {
			out[sigKey(sig)] = append(out[sigKey(sig)], f)
		}
	}
	return out
}

func markRefFuncs(expr []wasm.Instr, taken map[uint32]bool) {
	for _, in := range expr {
		if in.Op == wasm.OpRefFunc {
			taken[uint32(in.Imm)] = true
		}
	}
}

// recursive marks the defined functions that lie on a cycle of the call
// graph and numbers their strongly connected components (Tarjan's
// algorithm, iteratively).
func recursive(callees [][]uint32, nImp uint32) (onCycle []bool, comp []int) {
	n := len(callees)
	comp = make([]int, n)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	out := make([]bool, n)
	var stack []int
	next := 0
	type item struct{ v, edge int }
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		work := []item{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(work) > 0 {
			top := &work[len(work)-1]
			v := top.v
			if top.edge < len(callees[v]) {
				c := callees[v][top.edge]
				top.edge++
				if c < nImp || int(c-nImp) >= n {
					continue
				}
				w := int(c - nImp)
				if w == v {
					out[v] = true
				}
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					work = append(work, item{w, 0})
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			work = work[:len(work)-1]
			if len(work) > 0 {
				p := work[len(work)-1].v
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
			if low[v] == index[v] {
				var members []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					members = append(members, w)
					comp[w] = v
					if w == v {
						break
					}
				}
				if len(members) > 1 {
					for _, w := range members {
						out[w] = true
					}
				}
			}
		}
	}
	return out, comp
}
