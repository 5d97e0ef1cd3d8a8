(module (memory 1)
  (func (param v128 i32) (result v128 i32)
    local.get 1 local.get 0 v128.load8_lane offset=3 15
    local.get 0 i8x16.shuffle 31 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14
    v128.const f32x4 1 2 3 4 f32x4.add
    local.get 1 v128.const i64x2 -1 0 v128.store16_lane 7
    local.get 0 i32x4.extract_lane 3))
