// c-files: file I/O in a preopened directory mounted at guest path /data.
//
// Usage: c-files [N]   N = number of log lines to write (default 200).
// Run it with an empty host directory mounted at /data. It keeps one FILE*
// (/data/log.txt) open for the whole run and writes N lines to it slowly
// (some computation between lines, fflush after each), uses ftell/fseek,
// reads the log back, creates, lists (readdir), renames and deletes other
// files with both stdio and POSIX calls, and prints what it reads.
// Files left in /data at the end (all deterministic):
//   log.txt     N lines "line I value XXXXXXXX"
//   notes.txt   3 lines (written as notes.tmp, then renamed)
//   result.txt  a summary: line count, checksum and the directory listing
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_PATH "/data"

static void die(const char *what) {
  printf("error: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint32_t fnv(const char *s, uint32_t h) {
  while (*s) {
    h ^= (unsigned char)*s++;
    h *= 16777619u;
  }
  return h;
}

// Deterministic busy work between two log lines (about 2 ms on a compiler).
static uint32_t slow_value(int i) {
  uint32_t x = (uint32_t)i * 2654435761u + 1;
  for (int k = 0; k < 1500000; k++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

static void write_small(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die(path);
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0) die("write");
    off += (size_t)n;
  }
  if (close(fd) != 0) die("close");
}

static void print_file(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die(path);
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) die("read");
  buf[n] = 0;
  close(fd);
  printf("read %s (%zd bytes):\n%s", path, n, buf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Lists /data sorted by name (readdir order is the host's), with sizes.
// Appends the listing to out (if not NULL) and returns the entry count.
static int list_dir(const char *title, FILE *out) {
  DIR *d = opendir(DIR_PATH);
  if (!d) die("opendir");
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n < 64) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  printf("%s: %d entries\n", title, n);
  for (int i = 0; i < n; i++) {
    char path[256];
    snprintf(path, sizeof path, DIR_PATH "/%s", names[i]);
    struct stat st;
    if (stat(path, &st) != 0) die(path);
    printf("  %s %lld%s\n", names[i], (long long)st.st_size, S_ISDIR(st.st_mode) ? " dir" : "");
    if (out) fprintf(out, "%s %lld\n", names[i], (long long)st.st_size);
    free(names[i]);
  }
  return n;
}

int main(int argc, char **argv) {
  int lines = argc > 1 ? atoi(argv[1]) : 200;
  if (lines < 4) lines = 4;

  // Leftovers of an earlier run in the same directory are removed first.
  const char *stale[] = {"log.txt", "notes.txt", "notes.tmp", "result.txt", "scratch-0.txt", "scratch-1.txt",
                         "scratch-2.txt"};
  for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, DIR_PATH "/%s", stale[i]);
    unlink(path);
  }

  FILE *logf = fopen(DIR_PATH "/log.txt", "w+");
  if (!logf) die("fopen log.txt");
  uint32_t wsum = 2166136261u;
  for (int i = 0; i < lines; i++) {
    char line[64];
    snprintf(line, sizeof line, "line %d value %08x\n", i, (unsigned)slow_value(i));
    if (fputs(line, logf) < 0) die("fputs");
    if (fflush(logf) != 0) die("fflush");
    wsum = fnv(line, wsum);

    if (i == lines / 4) {
      // scratch files through POSIX calls, written while the log stays open
      for (int k = 0; k < 3; k++) {
        char path[64], text[64];
        snprintf(path, sizeof path, DIR_PATH "/scratch-%d.txt", k);
        snprintf(text, sizeof text, "scratch file %d written after line %d\n", k, i);
        write_small(path, text);
      }
      list_dir("after scratch files", NULL);
    }
    if (i == lines / 2) {
      FILE *notes = fopen(DIR_PATH "/notes.tmp", "w");
      if (!notes) die("fopen notes.tmp");
      fprintf(notes, "notes begin\nhalfway at line %d\nnotes end\n", i);
      fclose(notes);
      if (rename(DIR_PATH "/notes.tmp", DIR_PATH "/notes.txt") != 0) die("rename");
      print_file(DIR_PATH "/notes.txt");
    }
    if (i % 25 == 24) {
      long pos = ftell(logf);
      printf("step %d pos %ld checksum %08x\n", i, pos, (unsigned)wsum);
      fflush(stdout);
    }
  }

  long end = ftell(logf);
  printf("wrote %d lines, %ld bytes\n", lines, end);

  // read the whole log back through the same FILE*
  if (fseek(logf, 0, SEEK_SET) != 0) die("fseek start");
  char buf[128];
  int count = 0;
  uint32_t rsum = 2166136261u;
  while (fgets(buf, sizeof buf, logf)) {
    rsum = fnv(buf, rsum);
    if (count < 3 || count >= lines - 3) printf("read: %s", buf);
    count++;
  }
  printf("read back %d lines checksum %08x (%s)\n", count, (unsigned)rsum, rsum == wsum ? "match" : "MISMATCH");

  // random access: the 10th line from the start and the last 20 bytes
  if (fseek(logf, 0, SEEK_SET) != 0) die("fseek");
  for (int i = 0; i < 10 && fgets(buf, sizeof buf, logf); i++) {
  }
  printf("line 10 starts at offset %ld\n", ftell(logf));
  if (fgets(buf, sizeof buf, logf)) printf("read: %s", buf);
  if (fseek(logf, -20, SEEK_END) != 0) die("fseek end");
  size_t n = fread(buf, 1, 20, logf);
  buf[n] = 0;
  printf("tail at %ld: %s", ftell(logf) - (long)n, buf);

  // append through the same FILE* after seeking to the end
  if (fseek(logf, 0, SEEK_END) != 0) die("fseek end");
  fprintf(logf, "end of log\n");
  fflush(logf);

  // delete the scratch files, one of them after reading it
  print_file(DIR_PATH "/scratch-1.txt");
  for (int k = 0; k < 3; k++) {
    char path[64];
    snprintf(path, sizeof path, DIR_PATH "/scratch-%d.txt", k);
    if (unlink(path) != 0) die("unlink");
  }
  if (access(DIR_PATH "/scratch-0.txt", F_OK) == 0) printf("unlink failed\n");

  FILE *res = fopen(DIR_PATH "/result.txt", "w");
  if (!res) die("fopen result.txt");
  fprintf(res, "lines %d\nchecksum %08x\nlisting:\n", count, (unsigned)rsum);
  int entries = list_dir("final listing", res);
  fclose(res);
  fclose(logf);
  print_file(DIR_PATH "/result.txt");
  printf("done checksum %08x entries %d\n", (unsigned)rsum, entries);
  return 0;
}
