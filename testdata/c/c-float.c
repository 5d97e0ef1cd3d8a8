// c-float: floating point work printed with %.9f: an n-body simulation
// (sqrt), numeric integration with libm functions (sin, cos, exp, log, pow,
// atan2), a float32 recurrence and a Kahan-compensated series.
//
// Usage: c-float [N]   N = number of rounds (default 30).
// Results are bit-for-bit deterministic: Wasm floats are IEEE 754 with no
// fused or extended-precision surprises and libm is wasi-libc's own code.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBODIES 5
#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

typedef struct {
  double x, y, z, vx, vy, vz, mass;
} body;

static const body initial[NBODIES] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
     -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
     2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
     -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
     -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
};

static void offset_momentum(body *b) {
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < NBODIES; i++) {
    px += b[i].vx * b[i].mass;
    py += b[i].vy * b[i].mass;
    pz += b[i].vz * b[i].mass;
  }
  b[0].vx = -px / SOLAR_MASS;
  b[0].vy = -py / SOLAR_MASS;
  b[0].vz = -pz / SOLAR_MASS;
}

static double energy(const body *b) {
  double e = 0;
  for (int i = 0; i < NBODIES; i++) {
    e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < NBODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].mass * b[j].mass / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void advance(body *b, double dt) {
  for (int i = 0; i < NBODIES; i++) {
    for (int j = i + 1; j < NBODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * sqrt(d2));
      b[i].vx -= dx * b[j].mass * mag;
      b[i].vy -= dy * b[j].mass * mag;
      b[i].vz -= dz * b[j].mass * mag;
      b[j].vx += dx * b[i].mass * mag;
      b[j].vy += dy * b[i].mass * mag;
      b[j].vz += dz * b[i].mass * mag;
    }
  }
  for (int i = 0; i < NBODIES; i++) {
    b[i].x += dt * b[i].vx;
    b[i].y += dt * b[i].vy;
    b[i].z += dt * b[i].vz;
  }
}

// Simpson's rule over [a, b] with n (even) intervals.
static double simpson(double (*f)(double), double a, double b, int n) {
  double h = (b - a) / n, s = f(a) + f(b);
  for (int i = 1; i < n; i++) s += f(a + i * h) * (i & 1 ? 4 : 2);
  return s * h / 3;
}

static double f1(double x) { return sin(x) * exp(-x / 3) + cos(2 * x); }
static double f2(double x) { return log(1 + x * x) * pow(x + 1, 0.75); }
static double f3(double x) { return atan2(x, 1 + x) + tanh(x - 1) + cbrt(x + 2); }

// Kahan-compensated sum of 1/k^2 (-> pi^2/6).
static double basel(int from, int to, double *comp) {
  double sum = 0, c = *comp;
  for (int k = from; k < to; k++) {
    double y = 1.0 / ((double)k * k) - c;
    double t = sum + y;
    c = (t - sum) - y;
    sum = t;
  }
  *comp = c;
  return sum;
}

// float32 logistic-map recurrence (chaotic: any rounding difference shows).
static float logistic(float x, int steps) {
  for (int i = 0; i < steps; i++) x = 3.99f * x * (1.0f - x);
  return x;
}

static uint64_t bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 30;
  if (rounds < 1) rounds = 1;
  body b[NBODIES];
  memcpy(b, initial, sizeof b);
  offset_momentum(b);
  printf("initial energy %.9f\n", energy(b));

  uint64_t check = 0;
  double basel_sum = 0, basel_comp = 0;
  float lx = 0.123f;
  for (int r = 0; r < rounds; r++) {
    for (int s = 0; s < 150000; s++) advance(b, 0.01);
    double e = energy(b);
    double i1 = simpson(f1, 0, 10 + r, 20000);
    double i2 = simpson(f2, 0, 3 + r * 0.25, 20000);
    double i3 = simpson(f3, -1, 1 + r, 20000);
    basel_sum += basel(1 + r * 100000, 1 + (r + 1) * 100000, &basel_comp);
    lx = logistic(lx, 10000);
    check = check * 1000003 ^ bits(e) ^ bits(i1) * 3 ^ bits(i2) * 5 ^ bits(i3) * 7 ^ bits(basel_sum) * 11;
    printf("step %d energy %.9f int %.9f %.9f %.9f basel %.12f logistic %.7f\n", r, e, i1, i2, i3, basel_sum,
           (double)lx);
    fflush(stdout);
  }
  printf("body1 at %.9f %.9f %.9f\n", b[1].x, b[1].y, b[1].z);
  printf("done checksum %016llx\n", (unsigned long long)check);
  return 0;
}
