// c-sieve: benchmark kernel, sieve of Eratosthenes over a byte array.
//
// Usage: c-sieve [N]   N = number of rounds (default 20); each round sieves
// the primes below 4,000,000 + r * 100,000 and checksums them.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE 4000000u
#define STEP 100000u

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  if (rounds < 1) rounds = 1;
  uint32_t maxn = BASE + (uint32_t)rounds * STEP;
  unsigned char *composite = malloc(maxn);
  if (!composite) return 4;
  uint64_t total = 0;
  for (int r = 0; r < rounds; r++) {
    uint32_t n = BASE + (uint32_t)r * STEP;
    memset(composite, 0, n);
    for (uint32_t i = 2; (uint64_t)i * i < n; i++)
      if (!composite[i])
        for (uint32_t j = i * i; j < n; j += i) composite[j] = 1;
    uint32_t count = 0, last = 0;
    uint64_t sum = 0;
    for (uint32_t i = 2; i < n; i++)
      if (!composite[i]) {
        count++;
        sum += i;
        last = i;
      }
    total = total * 1000003 + sum + count;
    printf("step %d primes below %u: %u, largest %u, checksum %016llx\n", r, n, count, last,
           (unsigned long long)total);
    fflush(stdout);
  }
  free(composite);
  printf("done checksum %016llx\n", (unsigned long long)total);
  return 0;
}
