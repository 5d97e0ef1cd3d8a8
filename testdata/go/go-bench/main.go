// Command go-bench is a Roam benchmark guest: a compute kernel mix of a
// sieve of Eratosthenes, sort.Slice over structs, an n-body step loop and
// FNV-1a hashing, printing a checksum per round.
//
// Usage: go-bench [N]   N = number of rounds (default 10).
package main

import (
	"math"
	"os"
	"sort"
	"strconv"
)

func say(parts ...string) {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	b = append(b, '\n')
	os.Stdout.Write(b)
}

func hex(v uint64) string {
	s := strconv.FormatUint(v, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}

func sieve(n int, composite []bool) (count int, sum uint64) {
	for i := range composite[:n] {
		composite[i] = false
	}
	for i := 2; i*i < n; i++ {
		if !composite[i] {
			for j := i * i; j < n; j += i {
				composite[j] = true
			}
		}
	}
	for i := 2; i < n; i++ {
		if !composite[i] {
			count++
			sum += uint64(i)
		}
	}
	return
}

type item struct {
	key   uint32
	order uint32
}

func sortItems(seed uint64, n int) uint64 {
	x := seed | 1
	items := make([]item, n)
	for i := range items {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		items[i] = item{key: uint32(x % 100000), order: uint32(i)}
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].key != items[j].key {
			return items[i].key < items[j].key
		}
		return items[i].order < items[j].order
	})
	h := uint64(0)
	for i := 0; i < n; i += 53 {
		h = h*31 + uint64(items[i].key)<<20 + uint64(items[i].order)
	}
	return h
}

type body struct{ x, y, z, vx, vy, vz, m float64 }

func nbody(steps int) float64 {
	const solar = 4 * math.Pi * math.Pi
	const dpy = 365.24
	bs := []body{
		{0, 0, 0, 0, 0, 0, solar},
		{4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
			1.66007664274403694e-03 * dpy, 7.69901118419740425e-03 * dpy, -6.90460016972063023e-05 * dpy,
			9.54791938424326609e-04 * solar},
		{8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
			-2.76742510726862411e-03 * dpy, 4.99852801234917238e-03 * dpy, 2.30417297573763929e-05 * dpy,
			2.85885980666130812e-04 * solar},
		{1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
			2.96460137564761618e-03 * dpy, 2.37847173959480950e-03 * dpy, -2.96589568540237556e-05 * dpy,
			4.36624404335156298e-05 * solar},
		{1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
			2.68067772490389322e-03 * dpy, 1.62824170038242295e-03 * dpy, -9.51592254519715870e-05 * dpy,
			5.15138902046611451e-05 * solar},
	}
	var px, py, pz float64
	for _, b := range bs {
		px += b.vx * b.m
		py += b.vy * b.m
		pz += b.vz * b.m
	}
	bs[0].vx, bs[0].vy, bs[0].vz = -px/solar, -py/solar, -pz/solar
	const dt = 0.01
	for s := 0; s < steps; s++ {
		for i := range bs {
			for j := i + 1; j < len(bs); j++ {
				dx, dy, dz := bs[i].x-bs[j].x, bs[i].y-bs[j].y, bs[i].z-bs[j].z
				d2 := dx*dx + dy*dy + dz*dz
				mag := dt / (d2 * math.Sqrt(d2))
				bs[i].vx -= dx * bs[j].m * mag
				bs[i].vy -= dy * bs[j].m * mag
				bs[i].vz -= dz * bs[j].m * mag
				bs[j].vx += dx * bs[i].m * mag
				bs[j].vy += dy * bs[i].m * mag
				bs[j].vz += dz * bs[i].m * mag
			}
		}
		for i := range bs {
			bs[i].x += dt * bs[i].vx
			bs[i].y += dt * bs[i].vy
			bs[i].z += dt * bs[i].vz
		}
	}
	e := 0.0
	for i, b := range bs {
		e += 0.5 * b.m * (b.vx*b.vx + b.vy*b.vy + b.vz*b.vz)
		for _, c := range bs[i+1:] {
			dx, dy, dz := b.x-c.x, b.y-c.y, b.z-c.z
			e -= b.m * c.m / math.Sqrt(dx*dx+dy*dy+dz*dz)
		}
	}
	return e
}

func fnv(buf []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range buf {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func main() {
	rounds := 10
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil && n > 0 {
			rounds = n
		}
	}
	const sieveN = 2000000
	composite := make([]bool, sieveN+rounds*1000)
	buf := make([]byte, 1<<18)
	for i := range buf {
		buf[i] = byte(i*7 + i>>8)
	}
	total := uint64(0)
	for r := 0; r < rounds; r++ {
		count, sum := sieve(sieveN+r*1000, composite)
		s := sortItems(uint64(r)+0x9e3779b97f4a7c15, 50000)
		e := nbody(50000 + r*100)
		buf[r%len(buf)] ^= byte(count)
		f := fnv(buf)
		total = total*1000003 ^ uint64(count) ^ sum<<1 ^ s ^ math.Float64bits(e) ^ f
		say("step ", strconv.Itoa(r), " primes ", strconv.Itoa(count), " energy ",
			strconv.FormatFloat(e, 'f', 9, 64), " checksum ", hex(total))
	}
	say("done checksum ", hex(total))
}
