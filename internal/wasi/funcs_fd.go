package wasi

import "context"

func (h *Host) fdFuncs() []Func {
	return append(h.fdStateFuncs(), h.fdIOFuncs()...)
}

// fdStateFuncs are the fd_* functions that do not move data.
func (h *Host) fdStateFuncs() []Func {
	return []Func{
		fn("fd_advise", sig(i32, i64, i64, i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdAdvise(u32(p[0]), p[1], p[2], u32(p[3]))
		}),
		fn("fd_allocate", sig(i32, i64, i64), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdAllocate(u32(p[0]), p[1], p[2])
		}),
		fn("fd_close", sig(i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdClose(u32(p[0]))
		}),
		fn("fd_datasync", sig(i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdSync(u32(p[0]))
		}),
		fn("fd_fdstat_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdFdstatGet(m, u32(p[0]), u32(p[1]))
		}),
		fn("fd_fdstat_set_flags", sig(i32, i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			if u32(p[1]) > 0xffff {
				return EINVAL
			}
			return h.fdFdstatSetFlags(u32(p[0]), uint16(p[1]))
		}),
		fn("fd_fdstat_set_rights", sig(i32, i64, i64), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdFdstatSetRights(u32(p[0]), p[1], p[2])
		}),
		fn("fd_filestat_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdFilestatGet(m, u32(p[0]), u32(p[1]))
		}),
		fn("fd_filestat_set_size", sig(i32, i64), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdFilestatSetSize(u32(p[0]), p[1])
		}),
		fn("fd_filestat_set_times", sig(i32, i64, i64, i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdFilestatSetTimes(u32(p[0]), p[1], p[2], uint16(p[3]))
		}),
		fn("fd_prestat_get", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdPrestatGet(m, u32(p[0]), u32(p[1]))
		}),
		fn("fd_prestat_dir_name", sig(i32, i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdPrestatDirName(m, u32(p[0]), u32(p[1]), u32(p[2]))
		}),
		fn("fd_renumber", sig(i32, i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdRenumber(u32(p[0]), u32(p[1]))
		}),
		fn("fd_sync", sig(i32), false, func(_ context.Context, _ Memory, p []uint64) Errno {
			return h.fdSync(u32(p[0]))
		}),
	}
}

// fdIOFuncs are the fd_* functions that read, write, seek or list.
func (h *Host) fdIOFuncs() []Func {
	return []Func{
		fn("fd_pread", sig(i32, i32, i32, i64, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdPread(m, u32(p[0]), u32(p[1]), u32(p[2]), p[3], u32(p[4]))
		}),
		fn("fd_pwrite", sig(i32, i32, i32, i64, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdPwrite(m, u32(p[0]), u32(p[1]), u32(p[2]), p[3], u32(p[4]))
		}),
		fn("fd_read", sig(i32, i32, i32, i32), true, func(ctx context.Context, m Memory, p []uint64) Errno {
			return h.fdRead(ctx, m, u32(p[0]), u32(p[1]), u32(p[2]), u32(p[3]))
		}),
		fn("fd_readdir", sig(i32, i32, i32, i64, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdReaddir(m, u32(p[0]), u32(p[1]), u32(p[2]), p[3], u32(p[4]))
		}),
		fn("fd_seek", sig(i32, i64, i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdSeek(m, u32(p[0]), int64(p[1]), u32(p[2]), u32(p[3]))
		}),
		fn("fd_tell", sig(i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdTell(m, u32(p[0]), u32(p[1]))
		}),
		fn("fd_write", sig(i32, i32, i32, i32), false, func(_ context.Context, m Memory, p []uint64) Errno {
			return h.fdWrite(m, u32(p[0]), u32(p[1]), u32(p[2]), u32(p[3]))
		}),
	}
}
