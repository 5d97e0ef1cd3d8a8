// c-fib: benchmark kernel, naive recursive Fibonacci (call-heavy).
//
// Usage: c-fib [N]   N = number of rounds (default 10); round r computes
// fib(34 + r % 3) recursively.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  if (rounds < 1) rounds = 1;
  uint64_t total = 0;
  for (int r = 0; r < rounds; r++) {
    uint32_t n = 34 + (uint32_t)(r % 3);
    uint32_t f = fib(n);
    total = total * 31 + f;
    printf("step %d fib(%u)=%u checksum %016llx\n", r, n, f, (unsigned long long)total);
    fflush(stdout);
  }
  printf("done checksum %016llx\n", (unsigned long long)total);
  return 0;
}
