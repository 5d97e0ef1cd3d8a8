// c-demo: the workload of `roam demo`. Every tick it extends a sieve of
// primes, advances a small particle simulation and prints where it is, then
// sleeps a little, so that a person watching sees it carry on across pauses,
// snapshots and engines.
//
// Usage: c-demo [N]   N = number of ticks (default 30, about 3 s).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMIT (1 << 22)

static uint8_t composite[LIMIT];

// sieve_upto marks composites below hi, continuing from lo.
static uint32_t sieve_upto(uint32_t lo, uint32_t hi, uint64_t *sum) {
  uint32_t count = 0;
  for (uint32_t i = lo < 2 ? 2 : lo; i < hi; i++) {
    if (composite[i]) continue;
    int prime = 1;
    for (uint32_t d = 2; (uint64_t)d * d <= i; d++) {
      if (i % d == 0) {
        prime = 0;
        break;
      }
    }
    if (!prime) {
      composite[i] = 1;
      continue;
    }
    count++;
    *sum += i;
  }
  return count;
}

typedef struct {
  double x, v;
} particle;

static void step(particle *p, int n) {
  for (int k = 0; k < 2000; k++) {
    for (int i = 0; i < n; i++) {
      p[i].v -= 0.001 * p[i].x;
      p[i].x += 0.001 * p[i].v;
    }
  }
}

int main(int argc, char **argv) {
  int ticks = argc > 1 ? atoi(argv[1]) : 30;
  particle ps[8];
  for (int i = 0; i < 8; i++) ps[i] = (particle){1.0 + i, 0.0};
  uint32_t primes = 0, next = 2;
  uint64_t sum = 0;
  for (int t = 0; t < ticks; t++) {
    uint32_t hi = next + LIMIT / 64;
    if (hi > LIMIT) hi = LIMIT;
    primes += sieve_upto(next, hi, &sum);
    next = hi;
    step(ps, 8);
    printf("tick %2d: %7u primes below %8u (sum %llu), particle 0 at %+.6f\n", t, primes, next,
           (unsigned long long)sum, ps[0].x);
    fflush(stdout);
    usleep(50000);
  }
  printf("done after %d ticks\n", ticks);
  return 0;
}
