;; table-set: a WASI program that mutates a table (table.set), which Roam's
;; migratable mode refuses. The end-to-end tests run it with
;; --migratable=false (it prints "table.set ok" and exits 0) and check that
;; migratable mode refuses it with one clear line.
;; Built by testdata/build.sh: wat2wasm --debug-names table-set.wat -o table-set.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (type $ret (func (result i32)))
  (memory (export "memory") 1)
  (table $t 2 funcref)
  (data (i32.const 16) "table.set ok\n")
  (func $seven (type $ret) (i32.const 7))
  (elem declare func $seven)
  (func $main (export "_start")
    ;; put $seven into slot 1 and call it through the table
    (table.set $t (i32.const 1) (ref.func $seven))
    (if (i32.ne (call_indirect $t (type $ret) (i32.const 1)) (i32.const 7))
      (then unreachable))
    ;; one iovec at 0 -> "table.set ok\n" at 16; bytes written go to 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
