(module (type $t (func (param i32) (result i32))) (table 1 funcref) (elem (i32.const 0) $f)
  (func $f (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 1 else local.get 0 i32.const 1 i32.sub return_call $f end)
  (func (param i32) (result i32) local.get 0 i32.const 0 return_call_indirect (type $t)))
