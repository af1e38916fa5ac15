;; The statistics kernel: the per-element loops of TensorAccumulator (accumulator.ts) in WebAssembly with
;; 128-bit SIMD. One instance per large tensor; its memory holds that tensor's histogram, heavy-hitter
;; table, bfloat16 count table, row and column accumulators and the window being reduced, so the state
;; lives where the loops run and nothing is copied back per window.
;;
;; Compiled to src/core/stats/stats-kernel-wasm.ts by `npm run build:wasm` (wabt); a unit test fails when
;; the two disagree. Every result is the one the JavaScript loops give: the same histogram, counts,
;; extremes, repeats, row hashes and, bit for bit, the same row and column sums of squares (each row keeps
;; its even- and odd-column addition chains in column order); only the window's sums of powers are added
;; in another order (a rounding difference in the last bits of the moments).
;;
;; Memory layout (bytes; see KERNEL_LAYOUT in stats-kernel.ts, which must agree):
;;   0       RES     results of the last call (f64 at 0..40, i32 from 48)
;;   256     HIST    four 8192-bin int32 histograms (one per SIMD lane, so increments never wait on
;;                   each other); the scalar path uses the first
;;   131328  KEYS    4096 int32 heavy-hitter keys
;;   147712  COUNTS  4096 int32 heavy-hitter counts
;;   164096  WIN     the window: 65536 float32 values (or bit patterns)
;;   426240  TAB16   65536 int32 counts of bfloat16 bit patterns
;;   688384  H16     65536 raw bfloat16 patterns (input of push16)
;;   819456  matrix accumulators, placed by setup()
(module
  (import "env" "mem" (memory 1))

  ;; matrix view, set by setup()
  (global $rows (mut i32) (i32.const 0))
  (global $cols (mut i32) (i32.const 0))
  (global $rowSq (mut i32) (i32.const 0))
  (global $rowSqOdd (mut i32) (i32.const 0))
  (global $rowHash (mut i32) (i32.const 0))
  (global $colSq (mut i32) (i32.const 0))
  (global $colZero (mut i32) (i32.const 0))
  (global $colMul (mut i32) (i32.const 0))
  (global $hasRows (mut i32) (i32.const 0))
  (global $hasCols (mut i32) (i32.const 0))

  ;; the scalar path's share of one fused() call
  (global $origin (mut f64) (f64.const 0))
  (global $thr (mut i32) (i32.const 0))
  (global $smn (mut f32) (f32.const inf))
  (global $smx (mut f32) (f32.const -inf))
  (global $sab (mut i32) (i32.const -1))
  (global $u1 (mut f64) (f64.const 0))
  (global $u2 (mut f64) (f64.const 0))
  (global $u3 (mut f64) (f64.const 0))
  (global $u4 (mut f64) (f64.const 0))
  (global $specials (mut i32) (i32.const 0))
  (global $zeros (mut i32) (i32.const 0))
  (global $sub (mut i32) (i32.const 0))
  (global $nan (mut i32) (i32.const 0))
  (global $pinf (mut i32) (i32.const 0))
  (global $ninf (mut i32) (i32.const 0))
  (global $first (mut i32) (i32.const -1))

  (func (export "setup") (param $rows i32) (param $cols i32) (param $hasRows i32) (param $hasCols i32)
    (param $rowSq i32) (param $rowSqOdd i32) (param $rowHash i32) (param $colSq i32) (param $colZero i32) (param $colMul i32)
    (global.set $rows (local.get $rows))
    (global.set $cols (local.get $cols))
    (global.set $hasRows (local.get $hasRows))
    (global.set $hasCols (local.get $hasCols))
    (global.set $rowSq (local.get $rowSq))
    (global.set $rowSqOdd (local.get $rowSqOdd))
    (global.set $rowHash (local.get $rowHash))
    (global.set $colSq (local.get $colSq))
    (global.set $colZero (local.get $colZero))
    (global.set $colMul (local.get $colMul)))

  ;; Misra–Gries update of the heavy-hitter table (accumulator.ts countRepeat)
  (func $rep (param $b i32)
    (local $p i32)
    (local.set $p (i32.shl (i32.shr_u (i32.mul (local.get $b) (i32.const 0x9e3779b1)) (i32.const 20)) (i32.const 2)))
    (if (i32.eq (i32.load offset=131328 (local.get $p)) (local.get $b))
      (then (i32.store offset=147712 (local.get $p) (i32.add (i32.load offset=147712 (local.get $p)) (i32.const 1))))
      (else
        (if (i32.eqz (i32.load offset=147712 (local.get $p)))
          (then
            (i32.store offset=131328 (local.get $p) (local.get $b))
            (i32.store offset=147712 (local.get $p) (i32.const 1)))
          (else (i32.store offset=147712 (local.get $p) (i32.sub (i32.load offset=147712 (local.get $p)) (i32.const 1))))))))

  ;; one element of the window, every check (zeros, subnormals, NaN, ±Infinity, tails, the tail of a window)
  (func $elem (param $j i32)
    (local $b i32) (local $e i32) (local $a i32) (local $p i32) (local $x f32) (local $d f64) (local $d2 f64)
    (local.set $b (i32.load offset=164096 (i32.shl (local.get $j) (i32.const 2))))
    (local.set $e (i32.and (local.get $b) (i32.const 0x7f800000)))
    (if (i32.eq (local.get $e) (i32.const 0x7f800000))
      (then
        (global.set $specials (i32.add (global.get $specials) (i32.const 1)))
        (if (i32.lt_s (global.get $first) (i32.const 0)) (then (global.set $first (local.get $j))))
        (if (i32.and (local.get $b) (i32.const 0x007fffff))
          (then (global.set $nan (i32.add (global.get $nan) (i32.const 1))))
          (else
            (if (i32.lt_s (local.get $b) (i32.const 0))
              (then (global.set $ninf (i32.add (global.get $ninf) (i32.const 1))))
              (else (global.set $pinf (i32.add (global.get $pinf) (i32.const 1)))))))
        (return)))
    (local.set $a (i32.and (local.get $b) (i32.const 0x7fffffff)))
    (local.set $p (i32.shl (i32.shr_u (local.get $b) (i32.const 19)) (i32.const 2)))
    (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
    (if (i32.eqz (local.get $e))
      (then
        (if (i32.eqz (local.get $a))
          (then (global.set $zeros (i32.add (global.get $zeros) (i32.const 1))))
          (else (global.set $sub (i32.add (global.get $sub) (i32.const 1))))))
      (else (if (i32.gt_s (local.get $a) (global.get $thr)) (then (call $rep (local.get $b))))))
    (local.set $x (f32.load offset=164096 (i32.shl (local.get $j) (i32.const 2))))
    (if (f32.lt (local.get $x) (global.get $smn)) (then (global.set $smn (local.get $x))))
    (if (f32.gt (local.get $x) (global.get $smx)) (then (global.set $smx (local.get $x))))
    (if (i32.gt_s (local.get $a) (global.get $sab)) (then (global.set $sab (local.get $a))))
    (local.set $d (f64.sub (f64.promote_f32 (local.get $x)) (global.get $origin)))
    (local.set $d2 (f64.mul (local.get $d) (local.get $d)))
    (global.set $u1 (f64.add (global.get $u1) (local.get $d)))
    (global.set $u2 (f64.add (global.get $u2) (local.get $d2)))
    (global.set $u3 (f64.add (global.get $u3) (f64.mul (local.get $d2) (local.get $d))))
    (global.set $u4 (f64.add (global.get $u4) (f64.mul (local.get $d2) (local.get $d2)))))

  ;; heavy hitters of one vector whose lanes `above` (all ones) passed the tail threshold, in lane order
  (func $rep4 (param $v v128) (param $above v128)
    (if (i32x4.extract_lane 0 (local.get $above)) (then (call $rep (i32x4.extract_lane 0 (local.get $v)))))
    (if (i32x4.extract_lane 1 (local.get $above)) (then (call $rep (i32x4.extract_lane 1 (local.get $v)))))
    (if (i32x4.extract_lane 2 (local.get $above)) (then (call $rep (i32x4.extract_lane 2 (local.get $v)))))
    (if (i32x4.extract_lane 3 (local.get $above)) (then (call $rep (i32x4.extract_lane 3 (local.get $v))))))

  ;; The 1-D pass over WIN[0, n) (accumulator.ts fused): extremes starting from mn/mx, the largest |x|
  ;; bit pattern above ab and where it first occurs, counts, the log histogram, heavy hitters of |x|'s
  ;; bits above thr, and the sums of powers of (x − origin). Writes RES.
  (func (export "fused") (param $n i32) (param $origin f64) (param $thr i32) (param $mn f32) (param $mx f32) (param $ab i32)
    (local $i i32) (local $n8 i32) (local $v v128) (local $e v128) (local $a v128) (local $idx v128) (local $p i32)
    (local $vmn v128) (local $vmx v128) (local $vab v128) (local $o v128) (local $d v128) (local $d2 v128)
    (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128)
    (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $t4 v128)
    (local $best i32) (local $at i32) (local $fmn f32) (local $fmx f32) (local $vthr v128) (local $w v128)
    (global.set $origin (local.get $origin))
    (global.set $thr (local.get $thr))
    (global.set $smn (local.get $mn))
    (global.set $smx (local.get $mx))
    (global.set $sab (local.get $ab))
    (global.set $u1 (f64.const 0))
    (global.set $u2 (f64.const 0))
    (global.set $u3 (f64.const 0))
    (global.set $u4 (f64.const 0))
    (global.set $specials (i32.const 0))
    (global.set $zeros (i32.const 0))
    (global.set $sub (i32.const 0))
    (global.set $nan (i32.const 0))
    (global.set $pinf (i32.const 0))
    (global.set $ninf (i32.const 0))
    (global.set $first (i32.const -1))
    (local.set $vmn (f32x4.splat (local.get $mn)))
    (local.set $vmx (f32x4.splat (local.get $mx)))
    (local.set $vab (i32x4.splat (local.get $ab)))
    (local.set $o (f64x2.splat (local.get $origin)))
    (local.set $vthr (i32x4.splat (local.get $thr)))
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $v (v128.load offset=164096 (i32.shl (local.get $i) (i32.const 2))))
        (local.set $w (v128.load offset=164112 (i32.shl (local.get $i) (i32.const 2))))
        ;; eight elements a step, the two vectors sharing the checks: a zero, subnormal, NaN or ±Infinity
        ;; among them sends all eight to the scalar path
        (local.set $e (v128.and (local.get $v) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))
        (local.set $a (v128.and (local.get $w) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))
        (if (v128.any_true (v128.or
              (v128.or (i32x4.eq (local.get $e) (v128.const i32x4 0 0 0 0)) (i32x4.eq (local.get $e) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))
              (v128.or (i32x4.eq (local.get $a) (v128.const i32x4 0 0 0 0)) (i32x4.eq (local.get $a) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))))
          (then
            (call $elem (local.get $i))
            (call $elem (i32.add (local.get $i) (i32.const 1)))
            (call $elem (i32.add (local.get $i) (i32.const 2)))
            (call $elem (i32.add (local.get $i) (i32.const 3)))
            (call $elem (i32.add (local.get $i) (i32.const 4)))
            (call $elem (i32.add (local.get $i) (i32.const 5)))
            (call $elem (i32.add (local.get $i) (i32.const 6)))
            (call $elem (i32.add (local.get $i) (i32.const 7))))
          (else
            (local.set $a (v128.and (local.get $v) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
            (local.set $e (i32x4.gt_s (local.get $a) (local.get $vthr)))
            (if (v128.any_true (local.get $e)) (then (call $rep4 (local.get $v) (local.get $e))))
            (local.set $vab (i32x4.max_s (local.get $vab) (local.get $a)))
            (local.set $vmn (f32x4.pmin (local.get $vmn) (local.get $v)))
            (local.set $vmx (f32x4.pmax (local.get $vmx) (local.get $v)))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $o)))
            (local.set $d2 (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $s1 (f64x2.add (local.get $s1) (local.get $d)))
            (local.set $s2 (f64x2.add (local.get $s2) (local.get $d2)))
            (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $d2) (local.get $d))))
            (local.set $s4 (f64x2.add (local.get $s4) (f64x2.mul (local.get $d2) (local.get $d2))))
            (local.set $d (f64x2.sub
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
              (local.get $o)))
            (local.set $d2 (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $t1 (f64x2.add (local.get $t1) (local.get $d)))
            (local.set $t2 (f64x2.add (local.get $t2) (local.get $d2)))
            (local.set $t3 (f64x2.add (local.get $t3) (f64x2.mul (local.get $d2) (local.get $d))))
            (local.set $t4 (f64x2.add (local.get $t4) (f64x2.mul (local.get $d2) (local.get $d2))))
            ;; histogram: lane l counts into histogram l
            (local.set $idx (i32x4.add
              (i32x4.shl (i32x4.shr_u (local.get $v) (i32.const 19)) (i32.const 2))
              (v128.const i32x4 0 32768 65536 98304)))
            (local.set $p (i32x4.extract_lane 0 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            (local.set $p (i32x4.extract_lane 1 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            (local.set $p (i32x4.extract_lane 2 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            (local.set $p (i32x4.extract_lane 3 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            ;; the second vector, as the first
            (local.set $a (v128.and (local.get $w) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
            (local.set $e (i32x4.gt_s (local.get $a) (local.get $vthr)))
            (if (v128.any_true (local.get $e)) (then (call $rep4 (local.get $w) (local.get $e))))
            (local.set $vab (i32x4.max_s (local.get $vab) (local.get $a)))
            (local.set $vmn (f32x4.pmin (local.get $vmn) (local.get $w)))
            (local.set $vmx (f32x4.pmax (local.get $vmx) (local.get $w)))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $w)) (local.get $o)))
            (local.set $d2 (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $s1 (f64x2.add (local.get $s1) (local.get $d)))
            (local.set $s2 (f64x2.add (local.get $s2) (local.get $d2)))
            (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $d2) (local.get $d))))
            (local.set $s4 (f64x2.add (local.get $s4) (f64x2.mul (local.get $d2) (local.get $d2))))
            (local.set $d (f64x2.sub
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $w) (local.get $w)))
              (local.get $o)))
            (local.set $d2 (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $t1 (f64x2.add (local.get $t1) (local.get $d)))
            (local.set $t2 (f64x2.add (local.get $t2) (local.get $d2)))
            (local.set $t3 (f64x2.add (local.get $t3) (f64x2.mul (local.get $d2) (local.get $d))))
            (local.set $t4 (f64x2.add (local.get $t4) (f64x2.mul (local.get $d2) (local.get $d2))))
            ;; histogram: lane l counts into histogram l
            (local.set $idx (i32x4.add
              (i32x4.shl (i32x4.shr_u (local.get $w) (i32.const 19)) (i32.const 2))
              (v128.const i32x4 0 32768 65536 98304)))
            (local.set $p (i32x4.extract_lane 0 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            (local.set $p (i32x4.extract_lane 1 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            (local.set $p (i32x4.extract_lane 2 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))
            (local.set $p (i32x4.extract_lane 3 (local.get $idx)))
            (i32.store offset=256 (local.get $p) (i32.add (i32.load offset=256 (local.get $p)) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next)))
    (block $tail
      (loop $more
        (br_if $tail (i32.ge_u (local.get $i) (local.get $n)))
        (call $elem (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $more)))
    ;; extremes of the vector lanes and of the scalar path (pmin/pmax: x < min ? x : min, the JavaScript comparison;
    ;; one instruction each, where f32x4.min/max order ±0 and NaN; no NaN reaches the vector lanes)
    (local.set $fmn (f32.min
      (f32.min (f32x4.extract_lane 0 (local.get $vmn)) (f32x4.extract_lane 1 (local.get $vmn)))
      (f32.min (f32x4.extract_lane 2 (local.get $vmn)) (f32x4.extract_lane 3 (local.get $vmn)))))
    (if (f32.lt (global.get $smn) (local.get $fmn)) (then (local.set $fmn (global.get $smn))))
    (local.set $fmx (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $vmx)) (f32x4.extract_lane 1 (local.get $vmx)))
      (f32.max (f32x4.extract_lane 2 (local.get $vmx)) (f32x4.extract_lane 3 (local.get $vmx)))))
    (if (f32.gt (global.get $smx) (local.get $fmx)) (then (local.set $fmx (global.get $smx))))
    (f64.store offset=0 (i32.const 0) (f64.promote_f32 (local.get $fmn)))
    (f64.store offset=8 (i32.const 0) (f64.promote_f32 (local.get $fmx)))
    ;; the largest |x| bits and the first index holding them, when they beat `ab`
    (local.set $vab (i32x4.max_s (local.get $vab) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vab) (local.get $vab))))
    (local.set $best (i32x4.extract_lane 0 (local.get $vab)))
    (if (i32.gt_s (i32x4.extract_lane 1 (local.get $vab)) (local.get $best)) (then (local.set $best (i32x4.extract_lane 1 (local.get $vab)))))
    (if (i32.gt_s (global.get $sab) (local.get $best)) (then (local.set $best (global.get $sab))))
    (local.set $at (i32.const -1))
    (if (i32.gt_s (local.get $best) (local.get $ab))
      (then
        (local.set $i (i32.const 0))
        (block $found
          (loop $scan
            (br_if $found (i32.ge_u (local.get $i) (local.get $n)))
            (if (i32.eq (i32.and (i32.load offset=164096 (i32.shl (local.get $i) (i32.const 2))) (i32.const 0x7fffffff)) (local.get $best))
              (then (local.set $at (local.get $i)) (br $found)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $scan)))))
    ;; sums of powers: vector lanes, then the scalar path
    (local.set $s1 (f64x2.add (local.get $s1) (local.get $t1)))
    (local.set $s2 (f64x2.add (local.get $s2) (local.get $t2)))
    (local.set $s3 (f64x2.add (local.get $s3) (local.get $t3)))
    (local.set $s4 (f64x2.add (local.get $s4) (local.get $t4)))
    (f64.store offset=16 (i32.const 0) (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1))) (global.get $u1)))
    (f64.store offset=24 (i32.const 0) (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s2)) (f64x2.extract_lane 1 (local.get $s2))) (global.get $u2)))
    (f64.store offset=32 (i32.const 0) (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s3)) (f64x2.extract_lane 1 (local.get $s3))) (global.get $u3)))
    (f64.store offset=40 (i32.const 0) (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s4)) (f64x2.extract_lane 1 (local.get $s4))) (global.get $u4)))
    (i32.store offset=48 (i32.const 0) (select (local.get $best) (local.get $ab) (i32.ge_s (local.get $at) (i32.const 0))))
    (i32.store offset=52 (i32.const 0) (local.get $at))
    (i32.store offset=56 (i32.const 0) (global.get $specials))
    (i32.store offset=60 (i32.const 0) (global.get $zeros))
    (i32.store offset=64 (i32.const 0) (global.get $sub))
    (i32.store offset=68 (i32.const 0) (global.get $nan))
    (i32.store offset=72 (i32.const 0) (global.get $pinf))
    (i32.store offset=76 (i32.const 0) (global.get $ninf))
    (i32.store offset=80 (i32.const 0) (global.get $first)))

  ;; odd multiplier of column c in the row hashes, for matrices too wide to keep them (accumulator.ts columnMultiplier)
  (func $colMulOf (param $c i32) (result i32)
    (i32.or (i32.xor (i32.mul (i32.add (local.get $c) (i32.const 1)) (i32.const 0x9e3779b1)) (i32.const 0x5bd1e995)) (i32.const 1)))

  ;; Row and column accumulators over WIN[0, n), whose first element is at row r, column c
  ;; (accumulator.ts matrixPass). clean: the window holds no zero, NaN or ±Infinity.
  (func (export "matrix") (param $n i32) (param $r i32) (param $c i32) (param $clean i32)
    (local $i i32) (local $j i32) (local $end i32) (local $len i32) (local $hasRow i32)
    (local $rs f64) (local $ro f64) (local $h i32) (local $b i32) (local $q f64) (local $x f64) (local $pc i32)
    (local $v v128) (local $q0 v128) (local $q1 v128) (local $acc v128) (local $hv v128)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $len (i32.sub (global.get $cols) (local.get $c)))
        (if (i32.gt_u (local.get $len) (i32.sub (local.get $n) (local.get $i))) (then (local.set $len (i32.sub (local.get $n) (local.get $i)))))
        (local.set $end (i32.add (local.get $i) (local.get $len)))
        (local.set $hasRow (i32.and (global.get $hasRows) (i32.lt_u (local.get $r) (global.get $rows))))
        (if (local.get $hasRow)
          (then
            (local.set $rs (f64.load (i32.add (global.get $rowSq) (i32.shl (local.get $r) (i32.const 3)))))
            (local.set $ro (f64.load (i32.add (global.get $rowSqOdd) (i32.shl (local.get $r) (i32.const 3)))))
            (local.set $h (i32.load (i32.add (global.get $rowHash) (i32.shl (local.get $r) (i32.const 2))))))
          (else (local.set $rs (f64.const 0)) (local.set $ro (f64.const 0)) (local.set $h (i32.const 0))))
        (local.set $j (local.get $i))
        (if (i32.and (global.get $hasCols) (local.get $clean))
          (then
            ;; an odd first column goes to the odd chain, then four columns at a time from an even one
            (if (i32.and (i32.and (local.get $c) (i32.const 1)) (i32.lt_u (local.get $j) (local.get $end)))
              (then
                (local.set $x (f64.promote_f32 (f32.load offset=164096 (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $h (i32.add (local.get $h) (i32.mul
                  (i32.load offset=164096 (i32.shl (local.get $j) (i32.const 2)))
                  (i32.load (i32.add (global.get $colMul) (i32.shl (local.get $c) (i32.const 2)))))))
                (local.set $q (f64.mul (local.get $x) (local.get $x)))
                (local.set $ro (f64.add (local.get $ro) (local.get $q)))
                (local.set $pc (i32.add (global.get $colSq) (i32.shl (local.get $c) (i32.const 3))))
                (f64.store (local.get $pc) (f64.add (f64.load (local.get $pc)) (local.get $q)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))))
            (local.set $acc (f64x2.replace_lane 1 (f64x2.splat (local.get $rs)) (local.get $ro)))
            (local.set $hv (v128.const i32x4 0 0 0 0))
            (block $vecDone
              (loop $vec
                (br_if $vecDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $end)))
                (local.set $v (v128.load offset=164096 (i32.shl (local.get $j) (i32.const 2))))
                (local.set $hv (i32x4.add (local.get $hv)
                  (i32x4.mul (local.get $v) (v128.load (i32.add (global.get $colMul) (i32.shl (local.get $c) (i32.const 2)))))))
                (local.set $q0 (f64x2.promote_low_f32x4 (local.get $v)))
                (local.set $q0 (f64x2.mul (local.get $q0) (local.get $q0)))
                (local.set $q1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))
                (local.set $q1 (f64x2.mul (local.get $q1) (local.get $q1)))
                (local.set $acc (f64x2.add (f64x2.add (local.get $acc) (local.get $q0)) (local.get $q1)))
                (local.set $pc (i32.add (global.get $colSq) (i32.shl (local.get $c) (i32.const 3))))
                (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $q0)))
                (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $q1)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br $vec)))
            (local.set $rs (f64x2.extract_lane 0 (local.get $acc)))
            (local.set $ro (f64x2.extract_lane 1 (local.get $acc)))
            (local.set $h (i32.add (local.get $h) (i32.add
              (i32.add (i32x4.extract_lane 0 (local.get $hv)) (i32x4.extract_lane 1 (local.get $hv)))
              (i32.add (i32x4.extract_lane 2 (local.get $hv)) (i32x4.extract_lane 3 (local.get $hv))))))
            ;; the last columns of the segment, one at a time
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_u (local.get $j) (local.get $end)))
                (local.set $x (f64.promote_f32 (f32.load offset=164096 (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $h (i32.add (local.get $h) (i32.mul
                  (i32.load offset=164096 (i32.shl (local.get $j) (i32.const 2)))
                  (i32.load (i32.add (global.get $colMul) (i32.shl (local.get $c) (i32.const 2)))))))
                (local.set $q (f64.mul (local.get $x) (local.get $x)))
                (if (i32.and (local.get $c) (i32.const 1))
                  (then (local.set $ro (f64.add (local.get $ro) (local.get $q))))
                  (else (local.set $rs (f64.add (local.get $rs) (local.get $q)))))
                (local.set $pc (i32.add (global.get $colSq) (i32.shl (local.get $c) (i32.const 3))))
                (f64.store (local.get $pc) (f64.add (f64.load (local.get $pc)) (local.get $q)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $tail))))
          (else
            ;; zeros, NaN or ±Infinity in the window, or columns too many to track: every element checked
            (block $slowDone
              (loop $slow
                (br_if $slowDone (i32.ge_u (local.get $j) (local.get $end)))
                (local.set $b (i32.load offset=164096 (i32.shl (local.get $j) (i32.const 2))))
                (local.set $h (i32.add (local.get $h) (i32.mul (local.get $b)
                  (if (result i32) (global.get $hasCols)
                    (then (i32.load (i32.add (global.get $colMul) (i32.shl (local.get $c) (i32.const 2)))))
                    (else (call $colMulOf (local.get $c)))))))
                (if (i32.eq (i32.and (local.get $b) (i32.const 0x7f800000)) (i32.const 0x7f800000))
                  (then
                    (if (global.get $hasCols)
                      (then
                        (local.set $pc (i32.add (global.get $colZero) (i32.shl (local.get $c) (i32.const 2))))
                        (i32.store (local.get $pc) (i32.add (i32.load (local.get $pc)) (i32.const 1))))))
                  (else
                    (local.set $x (f64.promote_f32 (f32.load offset=164096 (i32.shl (local.get $j) (i32.const 2)))))
                    (local.set $q (f64.mul (local.get $x) (local.get $x)))
                    (if (i32.and (local.get $c) (i32.const 1))
                      (then (local.set $ro (f64.add (local.get $ro) (local.get $q))))
                      (else (local.set $rs (f64.add (local.get $rs) (local.get $q)))))
                    (if (global.get $hasCols)
                      (then
                        (local.set $pc (i32.add (global.get $colSq) (i32.shl (local.get $c) (i32.const 3))))
                        (f64.store (local.get $pc) (f64.add (f64.load (local.get $pc)) (local.get $q)))
                        (if (i32.eqz (i32.and (local.get $b) (i32.const 0x7fffffff)))
                          (then
                            (local.set $pc (i32.add (global.get $colZero) (i32.shl (local.get $c) (i32.const 2))))
                            (i32.store (local.get $pc) (i32.add (i32.load (local.get $pc)) (i32.const 1)))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $slow)))))
        (if (local.get $hasRow)
          (then
            (f64.store (i32.add (global.get $rowSq) (i32.shl (local.get $r) (i32.const 3))) (local.get $rs))
            (f64.store (i32.add (global.get $rowSqOdd) (i32.shl (local.get $r) (i32.const 3))) (local.get $ro))
            (i32.store (i32.add (global.get $rowHash) (i32.shl (local.get $r) (i32.const 2))) (local.get $h))))
        (local.set $i (local.get $end))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $c (i32.const 0))
        (br $row))))

;; The bfloat16 table path over H16[0, n) (accumulator.ts push16): counts every bit pattern in TAB16 and
  ;; finds the first new largest finite |x| above ab (RES i32 48, 52) and the first NaN or ±Infinity
  ;; (RES i32 80); with expand, also writes the patterns widened to float32 into WIN for matrix().
  ;; Eight patterns at a time: |x| is compared as a vector (its largest value located by a scan at the
  ;; end, only when it beats ab), and eight with a NaN or ±Infinity among them take the scalar path.
  (func (export "push16") (param $n i32) (param $ab i32) (param $expand i32)
    (local $i i32) (local $j i32) (local $end i32) (local $n8 i32) (local $x i32) (local $a i32) (local $p i32)
    (local $at i32) (local $first i32) (local $best i32) (local $v v128) (local $va v128) (local $vab v128)
    (local.set $at (i32.const -1))
    (local.set $first (i32.const -1))
    (local.set $best (local.get $ab))
    (local.set $vab (i16x8.splat (i32.const -1)))
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $v (v128.load offset=688384 (i32.shl (local.get $i) (i32.const 1))))
        (local.set $va (v128.and (local.get $v) (v128.const i16x8 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff)))
        (if (v128.any_true (i16x8.gt_s (local.get $va) (v128.const i16x8 0x7f7f 0x7f7f 0x7f7f 0x7f7f 0x7f7f 0x7f7f 0x7f7f 0x7f7f)))
          (then
            ;; a NaN or ±Infinity among the eight: one at a time
            (local.set $end (i32.add (local.get $i) (i32.const 8)))
            (local.set $j (local.get $i))
            (block $slowDone
              (loop $slow
                (br_if $slowDone (i32.ge_u (local.get $j) (local.get $end)))
                (local.set $x (i32.load16_u offset=688384 (i32.shl (local.get $j) (i32.const 1))))
                (local.set $p (i32.shl (local.get $x) (i32.const 2)))
                (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
                (local.set $a (i32.and (local.get $x) (i32.const 0x7fff)))
                (if (i32.ge_u (local.get $a) (i32.const 0x7f80))
                  (then (if (i32.lt_s (local.get $first) (i32.const 0)) (then (local.set $first (local.get $j)))))
                  (else (if (i32.gt_s (local.get $a) (local.get $best)) (then (local.set $best (local.get $a))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $slow))))
          (else
            (local.set $vab (i16x8.max_s (local.get $vab) (local.get $va)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 0 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 1 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 2 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 3 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 4 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 5 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 6 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
            (local.set $p (i32.shl (i16x8.extract_lane_u 7 (local.get $v)) (i32.const 2)))
            (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (i32.load16_u offset=688384 (i32.shl (local.get $i) (i32.const 1))))
        (local.set $p (i32.shl (local.get $x) (i32.const 2)))
        (i32.store offset=426240 (local.get $p) (i32.add (i32.load offset=426240 (local.get $p)) (i32.const 1)))
        (local.set $a (i32.and (local.get $x) (i32.const 0x7fff)))
        (if (i32.ge_u (local.get $a) (i32.const 0x7f80))
          (then (if (i32.lt_s (local.get $first) (i32.const 0)) (then (local.set $first (local.get $i)))))
          (else (if (i32.gt_s (local.get $a) (local.get $best)) (then (local.set $best (local.get $a))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    ;; the largest finite |x| of the window, and the first index holding it when it beats ab
    (local.set $vab (i16x8.max_s (local.get $vab) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vab) (local.get $vab))))
    (local.set $vab (i16x8.max_s (local.get $vab) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $vab) (local.get $vab))))
    (local.set $vab (i16x8.max_s (local.get $vab) (i8x16.shuffle 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 (local.get $vab) (local.get $vab))))
    (if (i32.gt_s (i16x8.extract_lane_s 0 (local.get $vab)) (local.get $best)) (then (local.set $best (i16x8.extract_lane_s 0 (local.get $vab)))))
    (if (i32.gt_s (local.get $best) (local.get $ab))
      (then
        (local.set $i (i32.const 0))
        (block $found
          (loop $scan
            (br_if $found (i32.ge_u (local.get $i) (local.get $n)))
            (if (i32.eq (i32.and (i32.load16_u offset=688384 (i32.shl (local.get $i) (i32.const 1))) (i32.const 0x7fff)) (local.get $best))
              (then (local.set $at (local.get $i)) (local.set $ab (local.get $best)) (br $found)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $scan)))))
    (if (local.get $expand)
      (then
        (local.set $i (i32.const 0))
        (block $wide
          (loop $widen
            (br_if $wide (i32.ge_u (local.get $i) (local.get $n)))
            (v128.store offset=164096 (i32.shl (local.get $i) (i32.const 2))
              (i32x4.shl (i32x4.extend_low_i16x8_u (v128.load64_zero offset=688384 (i32.shl (local.get $i) (i32.const 1)))) (i32.const 16)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $widen)))))
    (i32.store offset=48 (i32.const 0) (local.get $ab))
    (i32.store offset=52 (i32.const 0) (local.get $at))
    (i32.store offset=80 (i32.const 0) (local.get $first))))
