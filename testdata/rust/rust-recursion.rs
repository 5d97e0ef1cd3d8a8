//! rust-recursion: deep recursion (20,000 frames by default) in several
//! shapes: a recursive-descent parser over a deeply nested expression, a
//! recursive walk and a recursive drop of a Box linked list, Ackermann,
//! mutual recursion and recursion through a trait object.
//!
//! Usage: rust-recursion [N] [DEPTH]
//!   N     = number of rounds (default 60)
//!   DEPTH = recursion depth (default 20000)
//! Built with a 16 MiB stack (-C link-arg=-zstack-size=16777216): the
//! default wasm32 stack of 1 MiB holds DEPTH 20000 but overflows at 200000.

enum List {
    Nil,
    Cons(u64, Box<List>),
}

fn build(depth: u32, seed: u64) -> List {
    let mut l = List::Nil;
    for i in 0..depth as u64 {
        l = List::Cons(i.wrapping_mul(2654435761) ^ seed, Box::new(l));
    }
    l
}

// Not a tail call: the result is combined after the recursive call returns.
#[inline(never)]
fn walk(l: &List, depth: u64) -> u64 {
    match l {
        List::Nil => depth,
        List::Cons(v, rest) => walk(rest, depth + 1).wrapping_mul(31).wrapping_add(*v ^ (depth & 7)),
    }
}

// Recursive-descent parser for: expr := term ('+' term)* ; term := digit | '(' expr ')' | '[' expr ']'
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    max_depth: u32,
}

impl<'a> Parser<'a> {
    #[inline(never)]
    fn expr(&mut self, depth: u32) -> u64 {
        let mut v = self.term(depth);
        while self.pos < self.s.len() && self.s[self.pos] == b'+' {
            self.pos += 1;
            v = v.wrapping_add(self.term(depth));
        }
        v
    }
    #[inline(never)]
    fn term(&mut self, depth: u32) -> u64 {
        if depth > self.max_depth {
            self.max_depth = depth;
        }
        match self.s[self.pos] {
            b'(' => {
                self.pos += 1;
                let v = self.expr(depth + 1);
                assert_eq!(self.s[self.pos], b')');
                self.pos += 1;
                v.wrapping_mul(3)
            }
            b'[' => {
                self.pos += 1;
                let v = self.expr(depth + 1);
                assert_eq!(self.s[self.pos], b']');
                self.pos += 1;
                v ^ 0x55
            }
            c => {
                self.pos += 1;
                (c - b'0') as u64
            }
        }
    }
}

fn nested(depth: u32, seed: u64) -> String {
    let mut s = String::with_capacity(depth as usize * 4);
    for i in 0..depth {
        s.push(if (i as u64 + seed) % 3 == 0 { '[' } else { '(' });
        s.push(char::from(b'0' + ((i as u64 * 7 + seed) % 10) as u8));
        s.push('+');
    }
    s.push('1');
    for i in (0..depth).rev() {
        s.push(if (i as u64 + seed) % 3 == 0 { ']' } else { ')' });
    }
    s
}

#[inline(never)]
fn ack(m: u64, n: u64) -> u64 {
    if m == 0 {
        n + 1
    } else if n == 0 {
        ack(m - 1, 1)
    } else {
        ack(m - 1, ack(m, n - 1))
    }
}

#[inline(never)]
fn is_even(n: u32) -> bool {
    if n == 0 {
        true
    } else {
        is_odd(n - 1)
    }
}

#[inline(never)]
fn is_odd(n: u32) -> bool {
    if n == 0 {
        false
    } else {
        is_even(n - 1)
    }
}

trait Step {
    fn run(&self, n: u32, acc: u64, table: &[Box<dyn Step>]) -> u64;
}
struct AddStep(u64);
struct XorStep(u64);
impl Step for AddStep {
    fn run(&self, n: u32, acc: u64, table: &[Box<dyn Step>]) -> u64 {
        if n == 0 {
            return acc;
        }
        let next = &table[(acc % table.len() as u64) as usize];
        next.run(n - 1, acc.wrapping_add(self.0), table).wrapping_add(1)
    }
}
impl Step for XorStep {
    fn run(&self, n: u32, acc: u64, table: &[Box<dyn Step>]) -> u64 {
        if n == 0 {
            return acc;
        }
        let next = &table[((acc >> 3) % table.len() as u64) as usize];
        next.run(n - 1, (acc ^ self.0).wrapping_mul(5), table) ^ 1
    }
}

fn mix(h: u64, v: u64) -> u64 {
    h ^ v
        .wrapping_add(0x9e3779b97f4a7c15)
        .wrapping_add(h << 6)
        .wrapping_add(h >> 2)
}

/// Drops a list recursively (the default drop glue of a Box list recurses
/// once per node), counting nodes on the way.
fn drop_list(l: List) -> u64 {
    match l {
        List::Nil => 0,
        List::Cons(_, rest) => 1 + drop_list(*rest),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60).max(1);
    let depth: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20000).max(1);
    let table: Vec<Box<dyn Step>> = vec![Box::new(AddStep(3)), Box::new(XorStep(0x5a5a)), Box::new(AddStep(11))];

    let mut total = 0u64;
    let mut max_parse_depth = 0;
    for r in 0..rounds {
        let mut h = 0u64;
        let list = build(depth, r);
        for k in 0..10 {
            h = mix(h, walk(&list, k));
        }
        h = mix(h, drop_list(list));

        let text = nested(depth, r);
        let mut p = Parser { s: text.as_bytes(), pos: 0, max_depth: 0 };
        h = mix(h, p.expr(0));
        assert_eq!(p.pos, text.len());
        max_parse_depth = p.max_depth;

        h = mix(h, ack(1, depth as u64));
        h = mix(h, ack(2, 200));
        h = mix(h, is_even(depth + r as u32) as u64);
        h = mix(h, table[0].run(depth, r, &table));
        total = mix(total, h);
        println!("step {} checksum {:016x}", r, total);
    }
    println!(
        "max depth {} parse depth {} ack(1,{})={} ack(3,5)={}",
        depth,
        max_parse_depth,
        depth,
        ack(1, depth as u64),
        ack(3, 5)
    );
    println!("done checksum {:016x}", total);
}
