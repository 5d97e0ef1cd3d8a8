;; A module touching every section and segment encoding; features.wasm is
;; built from it with: wat2wasm --enable-threads --enable-tail-call --debug-names features.wat
(module
  (type $sig (func (param i32 i64) (result i64 i32)))
  (import "env" "f" (func $imp (param i32) (result i32)))
  (import "env" "g" (global $gi i32))
  (import "env" "t" (table $ti 1 funcref))
  (memory $m 1 2)
  (table $t2 2 10 externref)
  (table $t3 4 funcref)
  (global $g (mut i64) (i64.const -5))
  (global $gr funcref (ref.func $add))
  (global $gv v128 (v128.const i32x4 1 2 3 4))
  (export "add" (func $add))
  (export "mem" (memory $m))
  (start $init)
  (elem (i32.const 0) $add)                                ;; flags 0
  (elem func $add $swap)                                   ;; flags 1
  (elem (table $t3) (i32.const 1) func $add)               ;; flags 2
  (elem declare func $init)                                ;; flags 3
  (elem (i32.const 0) funcref (ref.func $add) (ref.null func)) ;; flags 4
  (elem externref (ref.null extern))                       ;; flags 5
  (elem (table $t2) (i32.const 0) externref (ref.null extern)) ;; flags 6
  (elem declare funcref (ref.null func))                   ;; flags 7
  (data (i32.const 8) "hello")                             ;; flags 0
  (data "passive")                                         ;; flags 1
  (data (memory $m) (global.get $gi) "x")                  ;; flags 2
  (func $init)
  (func $add (param $a i32) (param $b i32) (result i32)
    (local $x i64) (local $y i64) (local $z f32) (local $v v128)
    local.get $a local.get $b i32.add)
  (func $swap (type $sig) (param i32 i64) (result i64 i32)
    local.get 1 local.get 0)
  (func $body (param i32) (result i32)
    (local i32 f64)
    block $out (result i32)
      i32.const 0
      loop $l (param i32) (result i32)
        local.get 0
        br_if $l
        i32.const 1
        i32.const 2
        br_table $l $out 0
      end
    end
    drop
    i32.const 0 i64.const 1 call $swap drop drop
    i32.const 0 i32.const 0 i32.const 0 memory.copy
    i32.const 0 i32.const 0 i32.const 0 memory.fill
    i32.const 0 i32.const 0 i32.const 1 memory.init 1
    data.drop 1
    i32.const 0 i32.const 0 i32.const 0 table.init $t3 2
    elem.drop 1
    i32.const 0 i32.const 0 i32.const 0 table.copy $t3 $ti
    ref.null extern i32.const 1 table.grow $t2 drop
    table.size $t2 drop
    i32.const 0 ref.null extern i32.const 0 table.fill $t2
    i32.const 0 table.get $t3 ref.is_null drop
    i32.const 0 ref.func $add table.set $t3
    i32.const 1 i32.const 2 local.get 0 select (result i32) drop
    f32.const 1.5 i32.trunc_sat_f32_s i32.extend8_s drop
    i32.const 0 v128.load offset=16 align=8
    i32.const 0 v128.load32_zero
    i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
    i64x2.extract_lane 1 drop
    i32.const 0 v128.const i64x2 7 8 v128.load16_lane offset=2 3
    i32.const 9 i8x16.replace_lane 15 i8x16.bitmask drop
    i32.const 0 i32.const 1 i32.atomic.rmw.add drop
    atomic.fence
    i32.const 0 i32.const 1 i64.const -1 memory.atomic.wait32 drop
    memory.size memory.grow drop
    local.get 0 i32.const 3 call_indirect $ti (param i32) (result i32) drop
    local.get 0 if (result i32) i32.const 1 else i32.const 2 end drop
    local.get 0
    return_call $imp)
)
