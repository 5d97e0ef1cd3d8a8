// c-collections: dynamic arrays, a chained hash table, a singly linked list
// and qsort with a comparator function pointer.
//
// Usage: c-collections [N]   N = number of rounds (default 16).
// Output is deterministic: nothing printed depends on addresses or time.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state;
static uint32_t rng(void) {
  // xorshift32: deterministic, seeded per round.
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  rng_state = x;
  return x;
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

// ---- dynamic array ----
typedef struct {
  int32_t *data;
  size_t len, cap;
} vec;

static void vec_push(vec *v, int32_t x) {
  if (v->len == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 8;
    int32_t *nd = realloc(v->data, nc * sizeof *nd);
    if (!nd) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    v->data = nd;
    v->cap = nc;
  }
  v->data[v->len++] = x;
}

// ---- hash table (separate chaining, string keys) ----
typedef struct entry {
  char *key;
  int64_t value;
  struct entry *next;
} entry;

typedef struct {
  entry **buckets;
  size_t nbuckets, count;
} table;

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  while (*s) {
    h ^= (unsigned char)*s++;
    h *= 16777619u;
  }
  return h;
}

static void table_init(table *t, size_t n) {
  t->buckets = calloc(n, sizeof *t->buckets);
  t->nbuckets = n;
  t->count = 0;
}

static void table_grow(table *t) {
  size_t nn = t->nbuckets * 2;
  entry **nb = calloc(nn, sizeof *nb);
  for (size_t i = 0; i < t->nbuckets; i++) {
    entry *e = t->buckets[i];
    while (e) {
      entry *next = e->next;
      size_t j = hash_str(e->key) & (nn - 1);
      e->next = nb[j];
      nb[j] = e;
      e = next;
    }
  }
  free(t->buckets);
  t->buckets = nb;
  t->nbuckets = nn;
}

static entry *table_find(table *t, const char *key) {
  for (entry *e = t->buckets[hash_str(key) & (t->nbuckets - 1)]; e; e = e->next)
    if (strcmp(e->key, key) == 0) return e;
  return NULL;
}

static void table_add(table *t, const char *key, int64_t delta) {
  entry *e = table_find(t, key);
  if (e) {
    e->value += delta;
    return;
  }
  if (t->count * 4 >= t->nbuckets * 3) table_grow(t);
  e = malloc(sizeof *e);
  e->key = strdup(key);
  e->value = delta;
  size_t j = hash_str(key) & (t->nbuckets - 1);
  e->next = t->buckets[j];
  t->buckets[j] = e;
  t->count++;
}

static int table_remove(table *t, const char *key) {
  entry **pp = &t->buckets[hash_str(key) & (t->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      entry *e = *pp;
      *pp = e->next;
      free(e->key);
      free(e);
      t->count--;
      return 1;
    }
  }
  return 0;
}

static void table_free(table *t) {
  for (size_t i = 0; i < t->nbuckets; i++) {
    entry *e = t->buckets[i];
    while (e) {
      entry *next = e->next;
      free(e->key);
      free(e);
      e = next;
    }
  }
  free(t->buckets);
}

// ---- linked list ----
typedef struct node {
  int32_t value;
  struct node *next;
} node;

static node *list_push(node *head, int32_t v) {
  node *n = malloc(sizeof *n);
  n->value = v;
  n->next = head;
  return n;
}

static node *list_reverse(node *head) {
  node *prev = NULL;
  while (head) {
    node *next = head->next;
    head->next = prev;
    prev = head;
    head = next;
  }
  return prev;
}

// Remove every node whose value is divisible by d; returns new head.
static node *list_filter(node *head, int32_t d, size_t *removed) {
  node **pp = &head;
  while (*pp) {
    if ((*pp)->value % d == 0) {
      node *dead = *pp;
      *pp = dead->next;
      free(dead);
      (*removed)++;
    } else {
      pp = &(*pp)->next;
    }
  }
  return head;
}

// ---- comparators (qsort through function pointers) ----
static int cmp_asc(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}
static int cmp_desc(const void *a, const void *b) { return cmp_asc(b, a); }
static int cmp_mod(const void *a, const void *b) {
  // order by value mod 1000, then by value
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  int32_t mx = x % 1000, my = y % 1000;
  if (mx != my) return (mx > my) - (mx < my);
  return (x > y) - (x < y);
}

typedef struct {
  const entry *e;
} eref;
static int cmp_entry(const void *a, const void *b) {
  const entry *x = ((const eref *)a)->e, *y = ((const eref *)b)->e;
  if (x->value != y->value) return x->value < y->value ? 1 : -1;  // by value desc
  return strcmp(x->key, y->key);
}

static int (*const comparators[])(const void *, const void *) = {cmp_asc, cmp_desc, cmp_mod};

static uint64_t round_work(int round) {
  uint64_t h = 1469598103934665603ULL;
  rng_state = 0x12345u + (uint32_t)round * 7919u;
  const size_t n = 60000;

  // dynamic array
  vec v = {0};
  for (size_t i = 0; i < n; i++) vec_push(&v, (int32_t)(rng() % 1000000));
  int (*cmp)(const void *, const void *) = comparators[round % 3];
  qsort(v.data, v.len, sizeof v.data[0], cmp);
  for (size_t i = 0; i < v.len; i += 97) h = mix(h, (uint64_t)v.data[i]);
  for (size_t i = 1; i < v.len; i++)
    if (cmp(&v.data[i - 1], &v.data[i]) > 0) {
      printf("sort order broken at %zu\n", i);
      exit(3);
    }

  // hash table: word counts over generated words
  table t;
  table_init(&t, 16);
  char key[16];
  for (size_t i = 0; i < n; i++) {
    uint32_t r = v.data[i] % 5000;
    snprintf(key, sizeof key, "w%u", (unsigned)r);
    table_add(&t, key, (int64_t)(i % 7) + 1);
  }
  size_t removed = 0;
  for (uint32_t r = 0; r < 5000; r += 3) {
    snprintf(key, sizeof key, "w%u", (unsigned)r);
    removed += (size_t)table_remove(&t, key);
  }
  // collect entries, sort them (address-independent order), fold top ones
  eref *refs = malloc(t.count * sizeof *refs);
  size_t k = 0;
  for (size_t i = 0; i < t.nbuckets; i++)
    for (entry *e = t.buckets[i]; e; e = e->next) refs[k++].e = e;
  qsort(refs, k, sizeof *refs, cmp_entry);
  for (size_t i = 0; i < k; i++) {
    h = mix(h, (uint64_t)refs[i].e->value);
    h = mix(h, hash_str(refs[i].e->key));
  }
  h = mix(h, t.count);
  h = mix(h, removed);
  free(refs);
  table_free(&t);

  // linked list
  node *head = NULL;
  for (size_t i = 0; i < v.len; i += 2) head = list_push(head, v.data[i]);
  head = list_reverse(head);
  size_t lremoved = 0;
  head = list_filter(head, 3 + round % 5, &lremoved);
  size_t len = 0;
  int64_t sum = 0;
  for (node *p = head; p; p = p->next) {
    len++;
    sum += p->value;
    h = mix(h, (uint64_t)p->value);
  }
  h = mix(h, len);
  h = mix(h, (uint64_t)sum);
  h = mix(h, lremoved);
  while (head) {
    node *next = head->next;
    free(head);
    head = next;
  }
  free(v.data);
  return h;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 16;
  if (rounds < 1) rounds = 1;
  uint64_t total = 0;
  for (int r = 0; r < rounds; r++) {
    uint64_t h = round_work(r);
    total = mix(total, h);
    printf("step %d checksum %016llx\n", r, (unsigned long long)total);
    fflush(stdout);
  }
  printf("done checksum %016llx\n", (unsigned long long)total);
  return 0;
}
