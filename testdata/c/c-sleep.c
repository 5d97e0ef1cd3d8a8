// c-sleep: a loop that sleeps 20 ms between lines (nanosleep, which
// wasi-libc turns into poll_oneoff on a monotonic clock subscription), and
// checks that the monotonic clock never goes backwards.
//
// Usage: c-sleep [N]   N = number of iterations (default 25, about 0.5 s).
// Output does not depend on how long the sleeps really took: the clock
// check prints only "clock ok" or "clock went backwards".
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    printf("clock_gettime failed\n");
    exit(1);
  }
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 25;
  if (iters < 1) iters = 1;
  int backwards = 0;
  int64_t prev = now_ns();
  uint32_t sum = 0;
  for (int i = 0; i < iters; i++) {
    sum = sum * 31 + (uint32_t)i;
    printf("tick %d checksum %08x\n", i, (unsigned)sum);
    fflush(stdout);
    if (i & 1) {
      usleep(20000);
    } else {
      struct timespec req = {0, 20 * 1000 * 1000};
      nanosleep(&req, NULL);
    }
    int64_t t = now_ns();
    if (t < prev) backwards++;
    prev = t;
  }
  printf(backwards ? "clock went backwards\n" : "clock ok\n");
  printf("done checksum %08x\n", (unsigned)sum);
  return 0;
}
