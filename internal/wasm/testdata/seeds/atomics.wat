(module (memory 1 1 shared)
  (func (param i32) (result i64)
    local.get 0 i64.const 1 i64.const 2 i64.atomic.rmw32.cmpxchg_u offset=4 align=4 drop
    local.get 0 i32.const 0 memory.atomic.notify drop
    atomic.fence
    local.get 0 i64.atomic.load))
