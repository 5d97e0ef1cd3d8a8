// c-trap: calls through a few named functions and then traps with
// __builtin_trap() (Wasm `unreachable`) inside crash_here, so that the
// runtime's stack trace can be checked:
//   crash_here <- level_three <- level_two <- level_one <- main
//
// Usage: c-trap [N]   N = number of rounds of work before the trap
// (default 20). Exit: a trap (no exit code from the guest).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void crash_here(uint64_t value) {
  printf("crash_here: value %016llx, trapping now\n", (unsigned long long)value);
  fflush(stdout);
  __builtin_trap();
}

__attribute__((noinline)) void level_three(uint64_t v) { crash_here(v ^ 3); }
__attribute__((noinline)) void level_two(uint64_t v) { level_three(v * 31 + 2); }
__attribute__((noinline)) void level_one(uint64_t v) { level_two(v + 1); }

static uint64_t work(int round) {
  uint64_t x = 0x243f6a8885a308d3ULL + (uint64_t)round;
  for (int i = 0; i < 12000000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  if (rounds < 1) rounds = 1;
  uint64_t total = 0;
  for (int r = 0; r < rounds; r++) {
    total = total * 31 + work(r);
    printf("step %d checksum %016llx\n", r, (unsigned long long)total);
    fflush(stdout);
  }
  printf("done checksum %016llx\n", (unsigned long long)total);
  fflush(stdout);
  level_one(total);
  printf("not reached\n");
  return 0;
}
