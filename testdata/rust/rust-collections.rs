//! rust-collections: Vec, HashMap (with a fixed FNV hasher so iteration is
//! the same on every run), BTreeMap, String operations, trait objects
//! (Box<dyn Shape>) and closures.
//!
//! Usage: rust-collections [N]   N = number of rounds (default 12).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

/// 64-bit FNV-1a: deterministic, unlike std's RandomState.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        if self.0 == 0 {
            0xcbf29ce484222325
        } else {
            self.0
        }
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf29ce484222325 } else { self.0 };
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

fn mix(h: u64, v: u64) -> u64 {
    h ^ v
        .wrapping_add(0x9e3779b97f4a7c15)
        .wrapping_add(h << 6)
        .wrapping_add(h >> 2)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String;
    fn scale(&mut self, k: f64);
}

struct Circle {
    r: f64,
}
struct Rect {
    w: f64,
    h: f64,
}
struct Triangle {
    a: f64,
    b: f64,
    c: f64,
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.r * self.r
    }
    fn name(&self) -> String {
        format!("circle(r={:.3})", self.r)
    }
    fn scale(&mut self, k: f64) {
        self.r *= k;
    }
}

impl Shape for Rect {
    fn area(&self) -> f64 {
        self.w * self.h
    }
    fn name(&self) -> String {
        format!("rect({:.3}x{:.3})", self.w, self.h)
    }
    fn scale(&mut self, k: f64) {
        self.w *= k;
        self.h *= k;
    }
}

impl Shape for Triangle {
    fn area(&self) -> f64 {
        let s = (self.a + self.b + self.c) / 2.0;
        (s * (s - self.a) * (s - self.b) * (s - self.c)).max(0.0).sqrt()
    }
    fn name(&self) -> String {
        format!("triangle({:.3},{:.3},{:.3})", self.a, self.b, self.c)
    }
    fn scale(&mut self, k: f64) {
        self.a *= k;
        self.b *= k;
        self.c *= k;
    }
}

fn make_shape(rng: &mut Rng) -> Box<dyn Shape> {
    let f = |r: &mut Rng| 0.5 + r.below(1000) as f64 / 100.0;
    match rng.below(3) {
        0 => Box::new(Circle { r: f(rng) }),
        1 => Box::new(Rect { w: f(rng), h: f(rng) }),
        _ => {
            let a = f(rng);
            let b = f(rng);
            let c = (a + b) * 0.75;
            Box::new(Triangle { a, b, c })
        }
    }
}

const WORDS: [&str; 12] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
];

fn round(r: u64, out: &mut String) -> u64 {
    let mut rng = Rng(r.wrapping_mul(7919) + 1);
    let mut h = 0u64;

    // Vec: fill, sort_by with a closure, dedup, retain, binary search
    let mut v: Vec<u64> = (0..80_000).map(|_| rng.below(1_000_000)).collect();
    let key = |x: &u64| (x % 1000, *x);
    v.sort_by_key(key);
    v.dedup();
    let modulus = 3 + r % 5;
    v.retain(|x| x % modulus != 0);
    for i in (0..v.len()).step_by(101) {
        h = mix(h, v[i]);
    }
    v.sort_unstable();
    let found = (0..1000u64).filter(|x| v.binary_search(&(x * 997)).is_ok()).count();
    h = mix(h, found as u64);

    // HashMap with a fixed hasher: word counts of generated phrases
    let mut counts: FnvMap<String, u64> = FnvMap::default();
    let mut text = String::new();
    for i in 0..40_000u64 {
        text.clear();
        let w1 = WORDS[rng.below(WORDS.len() as u64) as usize];
        let w2 = WORDS[rng.below(WORDS.len() as u64) as usize];
        write!(text, "{}-{}", w1, w2.to_uppercase()).unwrap();
        if i % 3 == 0 {
            text.push_str(&(i % 17).to_string());
        }
        *counts.entry(text.clone()).or_insert(0) += 1;
    }
    // iteration order of a fixed-hasher map is deterministic; fold it in
    for (k, c) in counts.iter() {
        h = mix(h, k.len() as u64 * 1000 + c);
    }
    counts.retain(|k, _| !k.starts_with("echo"));

    // BTreeMap: ordered aggregation, range queries
    let mut by_len: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (k, _) in counts.iter() {
        by_len.entry(k.len()).or_default().push(k.clone());
    }
    for list in by_len.values_mut() {
        list.sort();
    }
    let mid: usize = by_len.range(10..14).map(|(_, l)| l.len()).sum();
    h = mix(h, mid as u64);
    let (longest_len, longest) = by_len.iter().next_back().unwrap();
    let first_short = &by_len.iter().next().unwrap().1[0];

    // String ops: split, join, replace, chars, rev
    let joined = longest.iter().take(3).cloned().collect::<Vec<_>>().join("+");
    let replaced = joined.replace('-', "_").to_lowercase();
    let reversed: String = replaced.chars().rev().collect();
    let vowels = replaced.chars().filter(|c| "aeiou".contains(*c)).count();
    let parts: Vec<&str> = replaced.split(|c| c == '+' || c == '_').collect();
    h = mix(h, vowels as u64);
    h = mix(h, parts.len() as u64);
    for b in reversed.bytes() {
        h = mix(h, b as u64);
    }

    // Trait objects: a Vec<Box<dyn Shape>>, sorted by area
    let mut shapes: Vec<Box<dyn Shape>> = (0..2000).map(|_| make_shape(&mut rng)).collect();
    for (i, s) in shapes.iter_mut().enumerate() {
        if i % 7 == 0 {
            s.scale(1.5);
        }
    }
    shapes.sort_by(|a, b| a.area().partial_cmp(&b.area()).unwrap().then_with(|| a.name().cmp(&b.name())));
    let total_area: f64 = shapes.iter().map(|s| s.area()).sum();
    h = mix(h, total_area.to_bits());
    let biggest = shapes.last().unwrap().name();

    // closures capturing state, boxed closures in a Vec
    let mut acc = 0u64;
    let mut add = |x: u64| acc = acc.wrapping_mul(31).wrapping_add(x);
    for x in v.iter().take(500) {
        add(*x);
    }
    let ops: Vec<Box<dyn Fn(u64) -> u64>> = vec![
        Box::new(|x| x.wrapping_mul(3)),
        Box::new(move |x| x ^ modulus),
        Box::new(|x| x.rotate_left(7)),
    ];
    let piped = ops.iter().fold(acc, |a, f| f(a));
    h = mix(h, piped);

    // VecDeque as a ring buffer
    let mut dq: VecDeque<u64> = VecDeque::new();
    for x in v.iter().take(5000) {
        dq.push_back(*x);
        if dq.len() > 64 {
            let y = dq.pop_front().unwrap();
            h = mix(h, y);
        }
    }

    writeln!(
        out,
        "  round {}: vec {} found {} words {} longest {} ({}) first {} area {:.6} biggest {} text {}",
        r,
        v.len(),
        found,
        counts.len(),
        longest_len,
        longest.len(),
        first_short,
        total_area,
        biggest,
        &reversed[..reversed.len().min(24)]
    )
    .unwrap();
    h
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(12).max(1);
    let mut total = 0u64;
    for r in 0..rounds {
        let mut detail = String::new();
        total = mix(total, round(r, &mut detail));
        print!("{}", detail);
        println!("step {} checksum {:016x}", r, total);
    }
    println!("done checksum {:016x}", total);
}
