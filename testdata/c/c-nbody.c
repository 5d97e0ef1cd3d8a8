// c-nbody: benchmark kernel, the classic 5-body planetary simulation.
//
// Usage: c-nbody [N]   N = number of rounds (default 10); each round
// advances the system 500,000 steps of dt = 0.01 and prints its energy.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NB 5
#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DPY 365.24

static double x[NB], y[NB], z[NB], vx[NB], vy[NB], vz[NB], m[NB];

static void init(void) {
  static const double d[NB][7] = {
      {0, 0, 0, 0, 0, 0, 1},
      {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01, 1.66007664274403694e-03,
       7.69901118419740425e-03, -6.90460016972063023e-05, 9.54791938424326609e-04},
      {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01, -2.76742510726862411e-03,
       4.99852801234917238e-03, 2.30417297573763929e-05, 2.85885980666130812e-04},
      {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01, 2.96460137564761618e-03,
       2.37847173959480950e-03, -2.96589568540237556e-05, 4.36624404335156298e-05},
      {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01, 2.68067772490389322e-03,
       1.62824170038242295e-03, -9.51592254519715870e-05, 5.15138902046611451e-05},
  };
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < NB; i++) {
    x[i] = d[i][0];
    y[i] = d[i][1];
    z[i] = d[i][2];
    vx[i] = d[i][3] * DPY;
    vy[i] = d[i][4] * DPY;
    vz[i] = d[i][5] * DPY;
    m[i] = d[i][6] * SOLAR_MASS;
    px += vx[i] * m[i];
    py += vy[i] * m[i];
    pz += vz[i] * m[i];
  }
  vx[0] = -px / SOLAR_MASS;
  vy[0] = -py / SOLAR_MASS;
  vz[0] = -pz / SOLAR_MASS;
}

static double energy(void) {
  double e = 0;
  for (int i = 0; i < NB; i++) {
    e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
    for (int j = i + 1; j < NB; j++) {
      double dx = x[i] - x[j], dy = y[i] - y[j], dz = z[i] - z[j];
      e -= m[i] * m[j] / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void advance(double dt) {
  for (int i = 0; i < NB; i++)
    for (int j = i + 1; j < NB; j++) {
      double dx = x[i] - x[j], dy = y[i] - y[j], dz = z[i] - z[j];
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * sqrt(d2));
      vx[i] -= dx * m[j] * mag;
      vy[i] -= dy * m[j] * mag;
      vz[i] -= dz * m[j] * mag;
      vx[j] += dx * m[i] * mag;
      vy[j] += dy * m[i] * mag;
      vz[j] += dz * m[i] * mag;
    }
  for (int i = 0; i < NB; i++) {
    x[i] += dt * vx[i];
    y[i] += dt * vy[i];
    z[i] += dt * vz[i];
  }
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  if (rounds < 1) rounds = 1;
  init();
  printf("energy %.9f\n", energy());
  for (int r = 0; r < rounds; r++) {
    for (int s = 0; s < 500000; s++) advance(0.01);
    printf("step %d energy %.9f\n", r, energy());
    fflush(stdout);
  }
  printf("done checksum %.9f\n", energy() + x[1] + y[2] + z[3]);
  return 0;
}
