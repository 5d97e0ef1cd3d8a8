// c-hash: benchmark kernel, hashing a generated 1 MiB buffer repeatedly
// with FNV-1a (64-bit, byte at a time) and a 32-bit-word mixing hash
// (murmur-style), feeding each digest back into the buffer.
//
// Usage: c-hash [N]   N = number of rounds (default 16).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE (1u << 20)

static uint64_t fnv1a(const unsigned char *p, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static uint32_t mix32(const uint32_t *w, size_t n, uint32_t seed) {
  uint32_t h = seed;
  for (size_t i = 0; i < n; i++) {
    uint32_t k = w[i] * 0xcc9e2d51u;
    k = rotl(k, 15) * 0x1b873593u;
    h ^= k;
    h = rotl(h, 13) * 5 + 0xe6546b64u;
  }
  h ^= (uint32_t)n;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 16;
  if (rounds < 1) rounds = 1;
  uint32_t *buf = malloc(SIZE);
  if (!buf) return 4;
  uint32_t x = 0x12345678u;
  for (size_t i = 0; i < SIZE / 4; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = x;
  }
  uint64_t total = 0;
  for (int r = 0; r < rounds; r++) {
    uint64_t a = 0;
    uint32_t b = 0;
    for (int k = 0; k < 16; k++) {
      a ^= fnv1a((const unsigned char *)buf, SIZE);
      b ^= mix32(buf, SIZE / 4, (uint32_t)a);
      buf[(a >> 3) % (SIZE / 4)] ^= b;  // feed back so rounds differ
    }
    total = total * 31 + (a ^ b);
    printf("step %d fnv %016llx mix %08x checksum %016llx\n", r, (unsigned long long)a, (unsigned)b,
           (unsigned long long)total);
    fflush(stdout);
  }
  free(buf);
  printf("done checksum %016llx\n", (unsigned long long)total);
  return 0;
}
