;; spin: a WASI program that prints "spinning" and then runs the tightest
;; loop there is (loop br 0) forever. Compiled guest code gives the Go
;; runtime no safe point of its own; the node tests run it while the Go
;; garbage collector stops the world, to check that the instrumented loop
;; still lets every stop-the-world through (issue 7, item 1).
;; Built by testdata/build.sh: wat2wasm --debug-names spin.wat -o spin.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "spinning\n")
  (func $main (export "_start")
    ;; one iovec at 0 -> "spinning\n" at 16; bytes written go to 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $forever (br $forever))))
