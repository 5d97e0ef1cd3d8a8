// c-memgrow: grows linear memory step by step with malloc and realloc,
// touching every page, checksums everything it holds, then frees it all.
//
// Usage: c-memgrow [N]   N = MiB to hold at the peak (default 64).
// Steps 0 .. N/2-1 grow one realloc'd buffer by 1 MiB each (it sits at the
// top of the heap, so the allocator extends it and linear memory grows);
// steps N/2 .. N-1 malloc one more 1 MiB block each. A small side buffer is
// realloc'd to a larger size at every step as well (which usually moves it).
// Every new page is written; after each step all data held is verified
// (new data completely, older data one word per 64-byte line).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024u * 1024u)
#define PAGE 4096u

static uint32_t pattern(uint32_t idx, uint32_t salt) {
  uint32_t x = idx * 2654435761u ^ salt;
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  x ^= x >> 12;
  return x;
}

static void fill(uint32_t *p, size_t words, uint32_t first, uint32_t salt) {
  for (size_t i = 0; i < words; i++) p[i] = pattern(first + (uint32_t)i, salt);
}

// Checks every stride-th word; exits if one does not match the pattern.
static uint64_t verify(const uint32_t *p, size_t words, size_t stride, uint32_t first, uint32_t salt,
                       const char *what) {
  uint64_t sum = 0;
  for (size_t i = 0; i < words; i += stride) {
    uint32_t want = pattern(first + (uint32_t)i, salt);
    if (p[i] != want) {
      printf("corrupt %s at word %zu: %08x != %08x\n", what, i, p[i], want);
      exit(3);
    }
    sum = sum * 1099511628211ULL + p[i];
  }
  return sum;
}

int main(int argc, char **argv) {
  int total = argc > 1 ? atoi(argv[1]) : 64;
  if (total < 2) total = 2;
  const int half = total / 2;
  const size_t wpm = MiB / sizeof(uint32_t);  // words per MiB

  uint32_t *big = NULL;
  size_t big_words = 0;
  uint32_t **blocks = calloc((size_t)half, sizeof *blocks);
  int nblocks = 0;
  uint32_t *side = NULL;
  size_t side_words = 0;
  uint64_t total_sum = 0;

  for (int s = 0; s < 2 * half; s++) {
    if (s < half) {
      // grow the realloc'd buffer by 1 MiB and fill only the new part
      uint32_t *nb = realloc(big, (big_words + wpm) * sizeof *nb);
      if (!nb) {
        printf("realloc failed at step %d\n", s);
        return 4;
      }
      big = nb;
      fill(big + big_words, wpm, (uint32_t)big_words, 0xA5A5u);
      big_words += wpm;
    } else {
      // a separate 1 MiB block: touch one word per page first, then fill
      uint32_t *b = malloc(MiB);
      if (!b) {
        printf("malloc failed at step %d\n", s);
        return 4;
      }
      for (size_t off = 0; off < wpm; off += PAGE / sizeof(uint32_t)) b[off] = 1;
      fill(b, wpm, 0, (uint32_t)nblocks + 1);
      blocks[nblocks++] = b;
    }
    // the side buffer grows by 4 KiB per step and keeps its old contents
    uint32_t *ns = realloc(side, (side_words + 1024) * sizeof *ns);
    if (!ns) {
      printf("side realloc failed at step %d\n", s);
      return 4;
    }
    side = ns;
    fill(side + side_words, 1024, (uint32_t)side_words, 0x77u);
    side_words += 1024;

    // re-read everything held so far
    uint64_t h = 0;
    if (s < half) {
      size_t old = big_words - wpm;
      h = verify(big, old, 16, 0, 0xA5A5u, "realloc buffer");
      h += verify(big + old, wpm, 1, (uint32_t)old, 0xA5A5u, "realloc buffer");
    } else {
      h = verify(big, big_words, 16, 0, 0xA5A5u, "realloc buffer");
    }
    for (int k = 0; k < nblocks; k++)
      h ^= verify(blocks[k], wpm, k == nblocks - 1 && s >= half ? 1 : 16, 0, (uint32_t)k + 1, "block") + (uint64_t)k;
    h += verify(side, side_words, 1, 0, 0x77u, "side buffer");
    total_sum = total_sum * 31 + h;
    if (s % 8 == 7 || s == 2 * half - 1) {
      printf("step %d held %d MiB checksum %016llx\n", s, s + 1, (unsigned long long)total_sum);
      fflush(stdout);
    }
  }

  // free in an interleaved order, then allocate and release again to show the
  // memory is reusable
  for (int k = 0; k < nblocks; k += 2) free(blocks[k]);
  for (int k = 1; k < nblocks; k += 2) free(blocks[k]);
  free(big);
  free(blocks);
  free(side);
  size_t again_bytes = (size_t)half * MiB;
  unsigned char *again = malloc(again_bytes);
  if (!again) {
    printf("re-allocation after free failed\n");
    return 4;
  }
  memset(again, 0x5a, again_bytes);
  total_sum ^= again[again_bytes / 3];
  free(again);
  printf("freed all, reused %d MiB\n", half);
  printf("done checksum %016llx\n", (unsigned long long)total_sum);
  return 0;
}
