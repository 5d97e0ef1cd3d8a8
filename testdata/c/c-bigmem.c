// c-bigmem: fills a large heap buffer, then does light work over it for a
// long time: the instance that the capture and restore benchmark pauses.
//
// Usage: c-bigmem [MIB] [MODE] [ROUNDS]
//   MIB    = buffer size in MiB (default 64; 0 makes a trivial run)
//   MODE   = "random": xorshift output, incompressible (the default)
//            "compressible": words from a 16-word list, like log text
//   ROUNDS = rounds of light work after the fill (default 20000); each reads
//            one word per 4 KiB page and writes one word back.
// Prints "filled ..." once the buffer is full, a progress line every
// ROUNDS/10 rounds and "done checksum X".
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dULL;
}

static void fill_random(unsigned char *buf, size_t n) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = next();
    memcpy(buf + i, &v, 8);
  }
}

static const char *words[16] = {"alpha", "beta",  "gamma", "delta", "node",  "edge",  "cloud", "moved",
                                "pause", "state", "frame", "page",  "fresh", "again", "ok",    "retry"};

static void fill_text(unsigned char *buf, size_t n) {
  size_t i = 0;
  while (i < n) {
    const char *w = words[next() >> 60];
    size_t len = strlen(w);
    for (size_t k = 0; k < len && i < n; k++) buf[i++] = (unsigned char)w[k];
    if (i < n) buf[i++] = (next() >> 61) == 0 ? '\n' : ' ';
  }
}

static uint64_t checksum(const unsigned char *buf, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i + 8 <= n; i += 4096) {
    uint64_t v;
    memcpy(&v, buf + i, 8);
    h = (h ^ v) * 1099511628211ULL;
  }
  return h;
}

// round reads one word per 4 KiB page (at an offset that moves each round)
// and writes one word back, so the work is light and memory keeps changing.
static uint64_t round_work(unsigned char *buf, size_t n, uint64_t r, uint64_t total) {
  size_t off = (size_t)(r * 8) % 4096;
  uint64_t h = total;
  for (size_t i = off; i + 8 <= n; i += 4096) {
    uint64_t v;
    memcpy(&v, buf + i, 8);
    h = (h ^ v) * 1099511628211ULL;
  }
  size_t at = (size_t)((r * 2654435761u) % (n / 8)) * 8;
  memcpy(buf + at, &h, 8);
  return h;
}

int main(int argc, char **argv) {
  int mib = argc > 1 ? atoi(argv[1]) : 64;
  const char *mode = argc > 2 ? argv[2] : "random";
  long rounds = argc > 3 ? atol(argv[3]) : 20000;
  if (mib < 0) mib = 0;
  if (rounds < 0) rounds = 0;
  int random = strcmp(mode, "compressible") != 0;
  size_t n = (size_t)mib << 20;
  if (n == 0) {
    printf("done checksum %016llx\n", 0ULL);
    return 0;
  }
  unsigned char *buf = malloc(n);
  if (!buf) return 4;
  if (random)
    fill_random(buf, n);
  else
    fill_text(buf, n);
  uint64_t total = checksum(buf, n);
  printf("filled %d MiB %s checksum %016llx\n", mib, random ? "random" : "compressible", (unsigned long long)total);
  fflush(stdout);
  long every = rounds / 10 > 0 ? rounds / 10 : 1;
  for (long r = 0; r < rounds; r++) {
    total = round_work(buf, n, (uint64_t)r, total);
    if ((r + 1) % every == 0) {
      printf("step %ld checksum %016llx\n", r, (unsigned long long)total);
      fflush(stdout);
    }
  }
  free(buf);
  printf("done checksum %016llx\n", (unsigned long long)total);
  return 0;
}
