;; loops: small loops without calls, of the shapes the transform unrolls
;; (internal/transform/unroll.go): branches back to the loop from nested
;; blocks, out of it from inside, through br_table, and a loop with a
;; result. TestUnrolledLoops compares each export with the module run as
;; it is, for many inputs, with and without pauses at every safe point.
(module
  (memory (export "memory") 1)

  ;; sum of i*i for i < n, wrapping
  (func (export "squares") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $next
        (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $acc))

  ;; Collatz steps of n (at most 1000), an if/else inside the loop
  (func (export "collatz") (param $n i32) (result i32)
    (local $steps i32)
    (block $done
      (loop $next
        (br_if $done (i32.le_u (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $steps) (i32.const 1000)))
        (if (i32.and (local.get $n) (i32.const 1))
          (then (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1))))
          (else (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))))
        (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
        (br $next)))
    (local.get $steps))

  ;; walks i from 0 to n: i%4 picks, through a br_table, continue (skip
  ;; i), count i, stop early when i > 3n/4 and i%4 = 2, or fall out of a
  ;; nested block; returns count*1000 + i
  (func (export "table") (param $n i32) (result i32)
    (local $i i32) (local $count i32)
    (block $out
      (loop $next
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.gt_u (local.get $i) (local.get $n)))
        (block $count
          (block $stop
            (block $skip
              (br_table $skip $count $stop $count (i32.and (local.get $i) (i32.const 3))))
            (br $next))
          (br_if $out (i32.gt_u (i32.mul (local.get $i) (i32.const 4)) (i32.mul (local.get $n) (i32.const 3))))
          (br $next))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $next)))
    (i32.add (i32.mul (local.get $count) (i32.const 1000)) (local.get $i)))

  ;; a loop whose result leaves by falling through: bytes of n written to
  ;; memory and summed back, in an outer loop over rounds (the inner loop
  ;; is the innermost, unrolled one)
  (func (export "result") (param $n i32) (result i64)
    (local $i i32) (local $round i32) (local $total i64)
    (loop $rounds
      (local.set $i (i32.const 0))
      (local.set $total
        (i64.add (local.get $total)
          (loop $fill (result i64)
            (i32.store8 (local.get $i) (i32.add (local.get $i) (local.get $round)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $fill (i32.lt_u (local.get $i) (local.get $n)))
            (i64.extend_i32_u (i32.load (i32.const 0))))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 3))))
    (local.get $total))
)
