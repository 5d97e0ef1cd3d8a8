// c-matmul: benchmark kernel, dense double-precision matrix multiply.
//
// Usage: c-matmul [N]   N = number of rounds (default 20); each round
// multiplies two 256x256 matrices (C = A*B, i-k-j loop order) and feeds
// the result back into A.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 256

static double A[DIM][DIM], B[DIM][DIM], C[DIM][DIM];

static void matmul(void) {
  memset(C, 0, sizeof C);
  for (int i = 0; i < DIM; i++)
    for (int k = 0; k < DIM; k++) {
      double a = A[i][k];
      for (int j = 0; j < DIM; j++) C[i][j] += a * B[k][j];
    }
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  if (rounds < 1) rounds = 1;
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      A[i][j] = (double)((i * 7 + j * 3) % 17) / 17.0 - 0.5;
      B[i][j] = (double)((i * 5 + j * 11) % 13) / 13.0 - 0.5;
    }
  double trace = 0;
  for (int r = 0; r < rounds; r++) {
    matmul();
    // normalise and feed back so values stay bounded
    double maxv = 0;
    for (int i = 0; i < DIM; i++)
      for (int j = 0; j < DIM; j++) {
        double v = C[i][j] < 0 ? -C[i][j] : C[i][j];
        if (v > maxv) maxv = v;
      }
    trace = 0;
    for (int i = 0; i < DIM; i++)
      for (int j = 0; j < DIM; j++) A[i][j] = C[i][j] / maxv;
    for (int i = 0; i < DIM; i++) trace += A[i][i];
    printf("step %d trace %.9f max %.9f\n", r, trace, maxv);
    fflush(stdout);
  }
  double sum = 0;
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) sum += A[i][j] * (double)((i + j) % 7);
  printf("done checksum %.9f\n", sum);
  return 0;
}
