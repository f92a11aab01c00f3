// Packing routines for the GEMM loop nest (included inside the ISA namespace).
//
// pack_a: op(A)[i0:i0+mr_valid, p0:p0+kc] -> dst[p*MR + i], rows >= mr_valid zeroed.
// pack_b: op(B)[p0:p0+kc, j0:j0+nr_valid] -> dst[p*NR + j], cols >= nr_valid zeroed.
#pragma once
// (needs <cstring>, included by the including file before the ISA namespace opens)

template <class T, int MR>
static void pack_a_panel(T* __restrict dst, const T* a, index_t lda, bool trans, index_t i0, index_t p0,
                         int mr_valid, index_t kc) {
  if (!trans) {
    // A row-major, rows i: a[(i0+i)*lda + p0 + p].  Gather MR rows column by column.
    const T* rows[MR];
    for (int i = 0; i < MR; ++i) rows[i] = a + (i0 + (i < mr_valid ? i : 0)) * lda + p0;
    if (mr_valid == MR) {
      for (index_t p = 0; p < kc; ++p) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = rows[i][p];
      }
    } else {
      for (index_t p = 0; p < kc; ++p)
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < mr_valid ? rows[i][p] : T(0);
    }
  } else {
    // op(A) = A^T: element (i, p) is a[(p0+p)*lda + i0 + i], contiguous in i.
    for (index_t p = 0; p < kc; ++p) {
      const T* src = a + (p0 + p) * lda + i0;
      T* d = dst + p * MR;
      if (mr_valid == MR) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) d[i] = src[i];
      } else {
        for (int i = 0; i < MR; ++i) d[i] = i < mr_valid ? src[i] : T(0);
      }
    }
  }
}

template <class T, int NR>
static void pack_b_panel(T* __restrict dst, const T* b, index_t ldb, bool trans, index_t p0, index_t j0,
                         int nr_valid, index_t kc) {
  if (!trans) {
    // B row-major: row p contiguous.
    for (index_t p = 0; p < kc; ++p) {
      const T* src = b + (p0 + p) * ldb + j0;
      T* d = dst + p * NR;
      if (nr_valid == NR) {
        std::memcpy(d, src, sizeof(T) * NR);
      } else {
        for (int j = 0; j < NR; ++j) d[j] = j < nr_valid ? src[j] : T(0);
      }
    }
  } else {
    // op(B) = B^T: element (p, j) is b[(j0+j)*ldb + p0 + p]; transpose NR rows of B.
    const T* cols[NR];
    for (int j = 0; j < NR; ++j) cols[j] = b + (j0 + (j < nr_valid ? j : 0)) * ldb + p0;
    if (nr_valid == NR) {
      for (index_t p = 0; p < kc; ++p) {
#pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = cols[j][p];
      }
    } else {
      for (index_t p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr_valid ? cols[j][p] : T(0);
    }
  }
}
