;; bulk: memory.fill and memory.copy over megabytes, exported as they are.
;; The transform runs them in 64 KiB chunks with a poll between two, so a
;; pause lands inside a long fill or copy; the engine tests pause there,
;; resume, and compare the memory with what one instruction would have
;; written, overlapping copies in both directions and out-of-bounds
;; ranges (which must trap before writing anything) included.
;; Built by testdata/build.sh: wat2wasm --debug-names bulk.wat -o bulk.wasm
(module
  (memory (export "memory") 80)
  (func (export "fill") (param $d i32) (param $v i32) (param $n i32)
    (memory.fill (local.get $d) (local.get $v) (local.get $n)))
  (func (export "copy") (param $d i32) (param $s i32) (param $n i32)
    (memory.copy (local.get $d) (local.get $s) (local.get $n))))
