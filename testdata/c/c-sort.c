// c-sort: benchmark kernel, qsort of many 32-bit ints through a comparator
// function pointer.
//
// Usage: c-sort [N]   N = number of rounds (default 10); each round fills
// 100,000 ints from a generator and sorts them (alternating ascending and
// descending comparators), then checks and checksums the order.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define COUNT 100000

static int cmp_up(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}
static int cmp_down(const void *a, const void *b) { return cmp_up(b, a); }

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  if (rounds < 1) rounds = 1;
  int32_t *v = malloc(COUNT * sizeof *v);
  if (!v) return 4;
  uint64_t total = 0;
  uint32_t s = 2463534242u;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < COUNT; i++) {
      s ^= s << 13;
      s ^= s >> 17;
      s ^= s << 5;
      v[i] = (int32_t)(s % 2000000u) - 1000000;
    }
    int (*cmp)(const void *, const void *) = (r & 1) ? cmp_down : cmp_up;
    qsort(v, COUNT, sizeof *v, cmp);
    uint64_t h = 0;
    for (int i = 0; i < COUNT; i++) {
      if (i > 0 && cmp(&v[i - 1], &v[i]) > 0) {
        printf("not sorted at %d\n", i);
        return 3;
      }
      h = h * 31 + (uint32_t)v[i];
    }
    total = total * 1000003 + h;
    printf("step %d min %d max %d median %d checksum %016llx\n", r, (r & 1) ? v[COUNT - 1] : v[0],
           (r & 1) ? v[0] : v[COUNT - 1], v[COUNT / 2], (unsigned long long)total);
    fflush(stdout);
  }
  free(v);
  printf("done checksum %016llx\n", (unsigned long long)total);
  return 0;
}
