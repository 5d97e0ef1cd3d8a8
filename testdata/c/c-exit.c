// c-exit: does some work, prints it, then calls exit(7). An atexit handler
// prints one more line, and stdio buffers are flushed by exit.
//
// Usage: c-exit [N]   N = number of rounds (default 20). Exit code: 7.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t total;

static void on_exit_handler(void) { printf("atexit handler ran, checksum %016llx\n", (unsigned long long)total); }

static uint64_t work(int round) {
  uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(round + 1);
  for (int i = 0; i < 8000000; i++) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x *= 0x2545f4914f6cdd1dULL;
  }
  return x;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  if (rounds < 1) rounds = 1;
  atexit(on_exit_handler);
  for (int r = 0; r < rounds; r++) {
    total = total * 31 + work(r);
    // deliberately not flushed: exit() must flush what is buffered
    printf("step %d checksum %016llx\n", r, (unsigned long long)total);
  }
  printf("done checksum %016llx\n", (unsigned long long)total);
  exit(7);
}
