// c-dirty: fills a heap buffer with incompressible data, then keeps writing
// to it at a rate set in time, not in CPU speed: the instance that the
// live-migration benchmark moves while it dirties its memory.
//
// Usage: c-dirty [MIB] [RATE] [TICKS]
//   MIB   = buffer size in MiB (default 4; 0: no buffer, the ticks only sleep)
//   RATE  = "low": each tick writes 2 KiB into each of 4 random 64 KiB chunks
//                  (0.8 MiB/s of writes that dirty 4 chunks, 256 KiB, a tick)
//           "high": each tick writes one word into every 4 KiB page of the
//                  buffer, so the whole buffer is dirty again every tick
//           N: like low with N random chunks a tick (default "low")
//   TICKS = number of ticks (default 100, about 1 s); a tick is the writes
//           followed by a sleep until 10 ms after the previous tick's start
//           (clock_nanosleep on an absolute monotonic deadline: poll_oneoff).
// Prints "filled MIB MiB" once the buffer is full, a progress line every
// TICKS/10 ticks and "done checksum X". What is written, and so every line
// printed, depends only on the arguments: time only decides how long the
// sleeps last. A tick that starts more than a tick late (the instance was
// descheduled or moved) does not try to catch up: the next deadline is
// counted from now.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 65536
#define PAGE 4096
#define SPAN 2048 // bytes written into a chunk by the chunk rates
#define TICK_NS 10000000LL

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dULL;
}

static int64_t now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    printf("clock_gettime failed\n");
    exit(1);
  }
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t deadline) {
  struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
  int err;
  while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR) {
  }
  if (err != 0) {
    printf("clock_nanosleep failed: %d\n", err);
    exit(1);
  }
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ULL; }

// dirty_chunks writes SPAN bytes of fresh xorshift output at a random
// 8-byte-aligned offset of each of k random chunks.
static uint64_t dirty_chunks(unsigned char *buf, size_t n, long k, uint64_t h) {
  size_t chunks = n / CHUNK;
  for (long j = 0; j < k; j++) {
    size_t c = (size_t)(next() % chunks);
    size_t off = (size_t)(next() % ((CHUNK - SPAN) / 8)) * 8;
    unsigned char *p = buf + c * CHUNK + off;
    for (size_t i = 0; i < SPAN; i += 8) {
      uint64_t v = next();
      memcpy(p + i, &v, 8);
    }
    uint64_t first;
    memcpy(&first, p, 8);
    h = mix(h, first ^ c);
  }
  return h;
}

// dirty_pages writes one word into every 4 KiB page, at an offset that
// moves every tick.
static uint64_t dirty_pages(unsigned char *buf, size_t n, long tick, uint64_t h) {
  size_t off = (size_t)(tick * 8) % PAGE;
  uint64_t v = next();
  for (size_t i = off; i + 8 <= n; i += PAGE) {
    uint64_t old;
    memcpy(&old, buf + i, 8);
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t w = old ^ v;
    memcpy(buf + i, &w, 8);
  }
  return mix(h, v);
}

static uint64_t checksum(const unsigned char *buf, size_t n, uint64_t h) {
  for (size_t i = 0; i + 8 <= n; i += PAGE) {
    uint64_t v;
    memcpy(&v, buf + i, 8);
    h = mix(h, v);
  }
  return h;
}

int main(int argc, char **argv) {
  int mib = argc > 1 ? atoi(argv[1]) : 4;
  const char *rate = argc > 2 ? argv[2] : "low";
  long ticks = argc > 3 ? atol(argv[3]) : 100;
  if (mib < 0) mib = 0;
  if (ticks < 0) ticks = 0;
  int high = strcmp(rate, "high") == 0;
  long k = 4;
  if (!high && strcmp(rate, "low") != 0) {
    k = atol(rate);
    if (k < 0) k = 0;
  }
  size_t n = (size_t)mib << 20;
  unsigned char *buf = NULL;
  if (n > 0) {
    buf = malloc(n);
    if (!buf) {
      printf("cannot allocate %d MiB\n", mib);
      return 4;
    }
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t v = next();
      memcpy(buf + i, &v, 8);
    }
  }
  uint64_t h = checksum(buf, n, 14695981039346656037ULL);
  printf("filled %d MiB\n", mib);
  fflush(stdout);
  long every = ticks / 10 > 0 ? ticks / 10 : 1;
  int64_t deadline = now_ns();
  for (long t = 0; t < ticks; t++) {
    if (n > 0) h = high ? dirty_pages(buf, n, t, h) : dirty_chunks(buf, n, k, h);
    if ((t + 1) % every == 0) {
      printf("tick %ld checksum %016llx\n", t + 1, (unsigned long long)h);
      fflush(stdout);
    }
    deadline += TICK_NS;
    int64_t now = now_ns();
    if (now > deadline + TICK_NS) deadline = now; // late: do not catch up
    sleep_until(deadline);
  }
  h = checksum(buf, n, h);
  free(buf);
  printf("done checksum %016llx\n", (unsigned long long)h);
  return 0;
}
