//! rust-bench: a compute kernel mix for benchmarks: a small ray tracer
//! (spheres, diffuse + shadow rays, f64), a Mandelbrot set, and sorting
//! (sort_unstable of u64 and a stable sort_by of records).
//!
//! Usage: rust-bench [N]   N = number of rounds (default 20).

#[derive(Clone, Copy)]
struct V3 {
    x: f64,
    y: f64,
    z: f64,
}

impl V3 {
    fn new(x: f64, y: f64, z: f64) -> V3 {
        V3 { x, y, z }
    }
    fn add(self, o: V3) -> V3 {
        V3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
    fn sub(self, o: V3) -> V3 {
        V3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
    fn mul(self, k: f64) -> V3 {
        V3::new(self.x * k, self.y * k, self.z * k)
    }
    fn dot(self, o: V3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    fn norm(self) -> V3 {
        self.mul(1.0 / self.dot(self).sqrt())
    }
}

struct Sphere {
    c: V3,
    r: f64,
    albedo: f64,
}

fn hit(spheres: &[Sphere], o: V3, d: V3) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    for (i, s) in spheres.iter().enumerate() {
        let oc = o.sub(s.c);
        let b = oc.dot(d);
        let c = oc.dot(oc) - s.r * s.r;
        let disc = b * b - c;
        if disc < 0.0 {
            continue;
        }
        let t = -b - disc.sqrt();
        if t > 1e-6 && best.map_or(true, |(bt, _)| t < bt) {
            best = Some((t, i));
        }
    }
    best
}

fn trace(spheres: &[Sphere], o: V3, d: V3, light: V3, depth: u32) -> f64 {
    match hit(spheres, o, d) {
        None => 0.2 + 0.3 * d.y.max(0.0),
        Some((t, i)) => {
            let p = o.add(d.mul(t));
            let n = p.sub(spheres[i].c).norm();
            let l = light.sub(p).norm();
            let shadow = hit(spheres, p.add(n.mul(1e-4)), l).is_some();
            let diffuse = if shadow { 0.0 } else { n.dot(l).max(0.0) };
            let mut c = spheres[i].albedo * (0.1 + 0.9 * diffuse);
            if depth < 3 {
                let refl = d.sub(n.mul(2.0 * d.dot(n)));
                c += 0.3 * trace(spheres, p.add(n.mul(1e-4)), refl, light, depth + 1);
            }
            c
        }
    }
}

fn render(round: u64, w: usize, h: usize) -> u64 {
    let phase = round as f64 * 0.1;
    let mut spheres = vec![Sphere { c: V3::new(0.0, -1000.0, 0.0), r: 999.0, albedo: 0.6 }];
    for k in 0..8 {
        let a = k as f64 * 0.785 + phase;
        spheres.push(Sphere {
            c: V3::new(3.0 * a.cos(), 0.2 * k as f64, 6.0 + 3.0 * a.sin()),
            r: 0.6 + 0.1 * k as f64,
            albedo: 0.4 + 0.07 * k as f64,
        });
    }
    let light = V3::new(5.0, 10.0, -3.0);
    let eye = V3::new(0.0, 1.5, -4.0);
    let mut sum = 0u64;
    for y in 0..h {
        for x in 0..w {
            let dx = (x as f64 + 0.5) / w as f64 * 2.0 - 1.0;
            let dy = 1.0 - (y as f64 + 0.5) / h as f64 * 2.0;
            let d = V3::new(dx * 1.2, dy * 0.9 - 0.1, 1.0).norm();
            let c = trace(&spheres, eye, d, light, 0);
            let px = (c.min(1.0) * 255.0) as u64;
            sum = sum.wrapping_mul(31).wrapping_add(px);
        }
    }
    sum
}

fn mandelbrot(round: u64, w: usize, h: usize, max_iter: u32) -> u64 {
    let zoom = 1.0 + round as f64 * 0.05;
    let mut total = 0u64;
    for y in 0..h {
        for x in 0..w {
            let cr = (x as f64 / w as f64 * 3.0 - 2.2) / zoom - 0.3;
            let ci = (y as f64 / h as f64 * 2.4 - 1.2) / zoom;
            let (mut zr, mut zi) = (0.0f64, 0.0f64);
            let mut i = 0;
            while i < max_iter && zr * zr + zi * zi <= 4.0 {
                let t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                i += 1;
            }
            total = total.wrapping_mul(1_000_003).wrapping_add(i as u64);
        }
    }
    total
}

#[derive(Clone)]
struct Rec {
    key: u32,
    seq: u32,
    name: [u8; 8],
}

fn sorting(round: u64, n: usize) -> u64 {
    let mut s = 0x2545f4914f6cdd1du64 ^ round;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut v: Vec<u64> = (0..n).map(|_| next() % 10_000_000).collect();
    v.sort_unstable();
    let mut h = 0u64;
    for x in v.iter().step_by(97) {
        h = h.wrapping_mul(31).wrapping_add(*x);
    }
    let mut recs: Vec<Rec> = (0..n / 4)
        .map(|i| {
            let r = next();
            let mut name = [0u8; 8];
            for (j, b) in name.iter_mut().enumerate() {
                *b = b'a' + ((r >> (j * 5)) % 26) as u8;
            }
            Rec { key: (r % 1000) as u32, seq: i as u32, name }
        })
        .collect();
    recs.sort_by(|a, b| a.key.cmp(&b.key).then(a.name.cmp(&b.name)));
    for r in recs.iter().step_by(31) {
        h = h.wrapping_mul(31).wrapping_add(r.key as u64 * 1_000_000 + r.seq as u64);
    }
    h
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20).max(1);
    let mut total = 0u64;
    for r in 0..rounds {
        let a = render(r, 160, 120);
        let b = mandelbrot(r, 200, 160, 256);
        let c = sorting(r, 100_000);
        total = total.rotate_left(5) ^ a ^ b.wrapping_mul(3) ^ c.wrapping_mul(7);
        println!("step {} trace {:016x} mandel {:016x} sort {:016x} checksum {:016x}", r, a, b, c, total);
    }
    println!("done checksum {:016x}", total);
}
