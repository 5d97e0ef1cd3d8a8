;; cat PATH: prints the file PATH, opened relative to the first preopened
;; directory (fd 3), following symlinks. Exit 0 after printing it; when
;; path_open fails, exit 100 + the WASI errno (76 = ENOTCAPABLE, 63 = EPERM,
;; 44 = ENOENT); exit 2 without PATH. Used by test/e2e's volume tests to
;; try to read files outside a node's volume.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: argc, 4: argv buffer size, 16: argv pointers (12 at most),
  ;; 64: argv strings, 2048: opened fd, 2056: iovec, 2064: count,
  ;; 4096: read buffer (4096 bytes).
  (memory (export "memory") 1)

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func (export "_start")
    (local $path i32)
    (local $errno i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.or (i32.lt_u (i32.load (i32.const 0)) (i32.const 2))
                (i32.gt_u (i32.load (i32.const 0)) (i32.const 12)))
      (then (call $proc_exit (i32.const 2))))
    (if (i32.gt_u (i32.load (i32.const 4)) (i32.const 1984))
      (then (call $proc_exit (i32.const 2))))
    (drop (call $args_get (i32.const 16) (i32.const 64)))
    (local.set $path (i32.load (i32.const 20)))
    ;; dirfd 3, lookupflags SYMLINK_FOLLOW, no oflags, rights FD_READ
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (call $strlen (local.get $path))
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 2048)))
    (if (local.get $errno)
      (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno)))))
    (i32.store (i32.const 2056) (i32.const 4096))
    (loop $copy
      (i32.store (i32.const 2060) (i32.const 4096))
      (if (call $fd_read (i32.load (i32.const 2048)) (i32.const 2056) (i32.const 1) (i32.const 2064))
        (then (call $proc_exit (i32.const 3))))
      (if (i32.load (i32.const 2064))
        (then
          (i32.store (i32.const 2060) (i32.load (i32.const 2064)))
          (drop (call $fd_write (i32.const 1) (i32.const 2056) (i32.const 1) (i32.const 2064)))
          (br $copy)))))
)
