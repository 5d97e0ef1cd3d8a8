package wasi

import (
	"context"

	"github.com/roam-edge/roam/internal/wasm"
)

// Func is one host function of the wasi_snapshot_preview1 module.
type Func struct {
	Name            string // e.g. "fd_write"
	Params, Results []wasm.ValType
	// Blocking functions may wait (poll_oneoff, fd_read on stdin, sock_*):
	// the engine treats them as interruptible safe points.
	Blocking bool
	// Call takes the params in stack[:len(Params)] and writes the results to
	// stack[:len(Results)]; stack has room for max(params, results).
	Call func(ctx context.Context, mem Memory, stack []uint64)
}

// impl is a function body returning an errno.
type impl func(ctx context.Context, mem Memory, p []uint64) Errno

const (
	i32 = wasm.I32
	i64 = wasm.I64
)

func sig(params ...wasm.ValType) []wasm.ValType { return params }

func fn(name string, params []wasm.ValType, blocking bool, f impl) Func {
	return Func{Name: name, Params: params, Results: sig(i32), Blocking: blocking,
		Call: func(ctx context.Context, mem Memory, stack []uint64) {
			stack[0] = uint64(f(ctx, mem, stack))
		}}
}

func u32(v uint64) uint32 { return uint32(v) }

// Funcs returns every function of wasi_snapshot_preview1 (46), bound to h.
func (h *Host) Funcs() []Func {
	fs := append(h.miscFuncs(), h.fdFuncs()...)
	fs = append(fs, h.pathFuncs()...)
	return append(fs, h.sockFuncs()...)
}

func (h *Host) miscFuncs() []Func {
	return []Func{
		fn("args_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return writeStrings(m, h.args, u32(p[0]), u32(p[1]))
		}),
		fn("args_sizes_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.sizesGet(m, h.args, u32(p[0]), u32(p[1]))
		}),
		fn("environ_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return writeStrings(m, h.env, u32(p[0]), u32(p[1]))
		}),
		fn("environ_sizes_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.sizesGet(m, h.env, u32(p[0]), u32(p[1]))
		}),
		fn("clock_res_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.clockResGet(m, u32(p[0]), u32(p[1]))
		}),
		fn("clock_time_get", sig(i32, i64, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.clockTimeGet(m, u32(p[0]), u32(p[2]))
		}),
		fn("poll_oneoff", sig(i32, i32, i32, i32), true, func(ctx context.Context, m Memory, p []uint64) Errno {
			return h.pollOneoff(ctx, m, u32(p[0]), u32(p[1]), u32(p[2]), u32(p[3]))
		}),
		{Name: "proc_exit", Params: sig(i32), Call: func(_ context.Context, _ Memory, p []uint64) {
			panic(&ExitError{Code: u32(p[0])})
		}},
		fn("proc_raise", sig(i32), false, func(context.Context, Memory, []uint64) Errno {
			return ENOSYS
		}),
		fn("sched_yield", sig(), false, func(context.Context, Memory, []uint64) Errno {
			return h.schedYield()
		}),
		fn("random_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.randomGet(m, u32(p[0]), u32(p[1]))
		}),
	}
}

func (h *Host) sockFuncs() []Func {
	return []Func{
		fn("sock_accept", sig(i32, i32, i32), true, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.sockAccept(u32(p[0]), u32(p[1]))
		}),
		fn("sock_recv", sig(i32, i32, i32, i32, i32, i32), true, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.sockCheck(u32(p[0]))
		}),
		fn("sock_send", sig(i32, i32, i32, i32, i32), true, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.sockCheck(u32(p[0]))
		}),
		fn("sock_shutdown", sig(i32, i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.sockShutdown(u32(p[0]), u32(p[1]))
		}),
	}
}
