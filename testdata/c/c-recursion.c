// c-recursion: very deep recursion plus a table of function pointers.
//
// Usage: c-recursion [N] [DEPTH]
//   N     = number of rounds (default 50)
//   DEPTH = recursion depth reached in every round (default 20000)
// Each round builds a linked list of DEPTH nodes and walks it recursively
// (non-tail recursion, so the stack really is DEPTH frames deep), runs a
// depth-limited Ackermann-like recursion, and dispatches work through a
// function-pointer table.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct node {
  uint32_t value;
  struct node *next;
} node;

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

// Not a tail call: the result is combined after the recursive call returns.
__attribute__((noinline)) static uint64_t walk_sum(const node *n, uint32_t depth) {
  if (!n) return depth;
  uint64_t rest = walk_sum(n->next, depth + 1);
  return rest * 31 + n->value + (depth & 7);
}

// Recursive depth counter with a local array so each frame uses real
// linear-memory stack space (C shadow stack), not just wasm locals.
__attribute__((noinline)) static uint32_t deep_frames(uint32_t depth, uint32_t seed) {
  volatile uint32_t pad[8];
  for (int i = 0; i < 8; i++) pad[i] = seed + (uint32_t)i * depth;
  if (depth == 0) return pad[3];
  uint32_t r = deep_frames(depth - 1, seed * 1103515245u + 12345u);
  return r ^ pad[depth & 7];
}

// Ackermann function: ack(1, n) = n + 2 and recurses n deep;
// ack(2, n) = 2n + 3 with O(n^2) calls; ack(3, n) = 2^(n+3) - 3.
__attribute__((noinline)) static uint32_t ack(uint32_t m, uint32_t n) {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}

// Mutual recursion.
static int is_even(uint32_t n);
__attribute__((noinline)) static int is_odd(uint32_t n) { return n == 0 ? 0 : is_even(n - 1); }
__attribute__((noinline)) static int is_even(uint32_t n) { return n == 0 ? 1 : is_odd(n - 1); }

// Function pointer table dispatch.
static uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
static uint64_t op_xor(uint64_t a, uint64_t b) { return a ^ (b * 0x100000001b3ULL); }
static uint64_t op_rot(uint64_t a, uint64_t b) { return (a << (b & 31)) | (a >> (64 - (b & 31) - 1) >> 1); }
static uint64_t op_mul(uint64_t a, uint64_t b) { return a * (b | 1); }
static uint64_t op_sub(uint64_t a, uint64_t b) { return a - (b >> 3); }
static uint64_t (*const ops[])(uint64_t, uint64_t) = {op_add, op_xor, op_rot, op_mul, op_sub};
#define NOPS (sizeof ops / sizeof ops[0])

// Recursive dispatcher: picks the next operation via the table.
__attribute__((noinline)) static uint64_t dispatch(uint64_t acc, uint32_t steps) {
  if (steps == 0) return acc;
  uint64_t next = ops[(acc >> 7) % NOPS](acc, steps);
  return dispatch(next, steps - 1) + (steps & 1);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 50;
  uint32_t depth = argc > 2 ? (uint32_t)atoi(argv[2]) : 20000;
  if (rounds < 1) rounds = 1;
  if (depth < 1) depth = 1;

  // Build the list once; depth nodes.
  node *head = NULL;
  for (uint32_t i = 0; i < depth; i++) {
    node *n = malloc(sizeof *n);
    n->value = (i * 2654435761u) >> 7;
    n->next = head;
    head = n;
  }

  uint64_t total = 0;
  for (int r = 0; r < rounds; r++) {
    uint64_t h = 0;
    for (int k = 0; k < 20; k++) {
      h = mix(h, walk_sum(head, (uint32_t)(r + k)));
      h = mix(h, deep_frames(depth, (uint32_t)(r * 100 + k)));
    }
    h = mix(h, ack(1, depth));
    h = mix(h, ack(2, 300));
    h = mix(h, ack(3, 6));
    h = mix(h, (uint64_t)is_even(depth + (uint32_t)r));
    h = mix(h, dispatch((uint64_t)r + 1, depth));
    total = mix(total, h);
    printf("step %d checksum %016llx\n", r, (unsigned long long)total);
    fflush(stdout);
  }
  printf("max depth %u ack(1,%u)=%u ack(2,300)=%u ack(3,6)=%u\n", depth, depth, ack(1, depth), ack(2, 300), ack(3, 6));
  printf("done checksum %016llx\n", (unsigned long long)total);
  while (head) {
    node *n = head->next;
    free(head);
    head = n;
  }
  return 0;
}
