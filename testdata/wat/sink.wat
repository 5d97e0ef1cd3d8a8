;; sink: sequences whose rewind dispatch moves into their first block
;; after a few instructions that set locals (transform's sinkAt). At the
;; function level the prefix runs again before the locals are restored; in
;; a nested block it must not run again after they were. TestSunkDispatch
;; compares each export with the module run as it is, with a pause at
;; every safe point.
(module
  ;; a callee that may unwind: it has a loop
  (func $leaf (param $v i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (i32.add (local.get $v) (local.get $i)))

  ;; function level: a local set from a param before the first block
  (func (export "top") (param $n i32) (result i32)
    (local $a i32)
    (local.set $a (i32.mul (local.get $n) (i32.const 3)))
    (block $b
      (local.set $a (i32.add (local.get $a) (call $leaf (local.get $n)))))
    (local.get $a))

  ;; nested: in a loop, a block that clears $x before an inner block that
  ;; sets $x and calls; a rewind into the call must find $x as it was
  (func (export "nested") (param $n i32) (result i32)
    (local $k i32) (local $x i32) (local $acc i32)
    (loop $outer
      (block $b
        (local.set $x (i32.const 0))
        (block $inner
          (local.set $x (i32.add (local.get $k) (i32.const 100)))
          (local.set $acc (i32.add (local.get $acc) (call $leaf (local.get $x))))
          (local.set $acc (i32.add (local.get $acc) (local.get $x)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $k) (local.get $n))))
    (local.get $acc))
)
