;; echo: a WASI program that copies stdin to stdout, one fd_read at a time,
;; until end of input. Its blocking fd_read is where pauses land while it
;; waits for input; the engine tests pause it there and in the instant
;; after a read returned, and check that no byte is lost or doubled.
;; Built by testdata/build.sh: wat2wasm --debug-names echo.wat -o echo.wasm
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $main (export "_start")
    (loop $next
      ;; read: one iovec at 0 -> 64 bytes at 64; bytes read go to 8
      (i32.store (i32.const 0) (i32.const 64))
      (i32.store (i32.const 4) (i32.const 64))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then unreachable))
      (if (i32.eqz (i32.load (i32.const 8)))
        (then return))
      ;; write: one iovec at 16 -> the bytes read; bytes written go to 24
      (i32.store (i32.const 16) (i32.const 64))
      (i32.store (i32.const 20) (i32.load (i32.const 8)))
      (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
      (br $next))))
