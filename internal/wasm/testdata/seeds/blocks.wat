(module
  (func (param i32) (result i32 i64)
    (local f32 f32 f32 i64)
    i32.const 1 i64.const 2
    block (param i32 i64) (result i32 i64)
      local.get 0 br_table 0 1 0
    end
    unreachable
    select (result i64)
    drop
    i32.const 0 i64.const 0 local.get 0 br_if 0))
