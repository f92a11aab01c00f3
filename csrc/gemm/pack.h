// Packing routines for the GEMM loop nest (included inside the ISA namespace; the
// including file provides <cstring> and, on x86, <immintrin.h>).
//
// pack_a: op(A)[i0:i0+mr_valid, p0:p0+kc] -> dst[p*MR + i], rows >= mr_valid zeroed.
// pack_b: op(B)[p0:p0+kc, j0:j0+nr_valid] -> dst[p*NR + j], cols >= nr_valid zeroed.
//
// Two shapes of copy occur: a row copy (the packed row is contiguous in the source) and
// a transpose (R source rows, each contiguous along p, become the R columns of the
// packed panel).  The transpose uses 8x8 (float) / 4x4 (double) register transposes
// when AVX2 is available.
#pragma once

// dst[p*R + r] = rows[r][p] for r < valid (0 for valid <= r < R), p < kc.
template <class T, int R>
static void pack_transpose(T* __restrict dst, const T* const* rows, int valid, index_t kc) {
  int r0 = 0;
#if defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    for (; r0 + 8 <= valid; r0 += 8) {
      const float* s[8];
      for (int q = 0; q < 8; ++q) s[q] = reinterpret_cast<const float*>(rows[r0 + q]);
      // The next 8 rows, a line each per 16 columns, one group ahead: transposed B is a
      // layer's weights read down 48 rows 8 kB apart, from DRAM in a training step (its
      // input-gradient product dX = dz W^T: ~3 % faster relative to the forward GEMM).
      const bool ahead = r0 + 16 <= valid;
      index_t p = 0;
      for (; p + 8 <= kc; p += 8) {
        if (ahead && (p & 15) == 0)
          for (int q = 0; q < 8; ++q) __builtin_prefetch(reinterpret_cast<const float*>(rows[r0 + 8 + q]) + p, 0, 3);
        __m256 r[8], t[8];
        for (int q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(s[q] + p);
        t[0] = _mm256_unpacklo_ps(r[0], r[1]); t[1] = _mm256_unpackhi_ps(r[0], r[1]);
        t[2] = _mm256_unpacklo_ps(r[2], r[3]); t[3] = _mm256_unpackhi_ps(r[2], r[3]);
        t[4] = _mm256_unpacklo_ps(r[4], r[5]); t[5] = _mm256_unpackhi_ps(r[4], r[5]);
        t[6] = _mm256_unpacklo_ps(r[6], r[7]); t[7] = _mm256_unpackhi_ps(r[6], r[7]);
        r[0] = _mm256_shuffle_ps(t[0], t[2], 0x44); r[1] = _mm256_shuffle_ps(t[0], t[2], 0xEE);
        r[2] = _mm256_shuffle_ps(t[1], t[3], 0x44); r[3] = _mm256_shuffle_ps(t[1], t[3], 0xEE);
        r[4] = _mm256_shuffle_ps(t[4], t[6], 0x44); r[5] = _mm256_shuffle_ps(t[4], t[6], 0xEE);
        r[6] = _mm256_shuffle_ps(t[5], t[7], 0x44); r[7] = _mm256_shuffle_ps(t[5], t[7], 0xEE);
        float* d = reinterpret_cast<float*>(dst) + p * R + r0;
        _mm256_storeu_ps(d + 0 * R, _mm256_permute2f128_ps(r[0], r[4], 0x20));
        _mm256_storeu_ps(d + 1 * R, _mm256_permute2f128_ps(r[1], r[5], 0x20));
        _mm256_storeu_ps(d + 2 * R, _mm256_permute2f128_ps(r[2], r[6], 0x20));
        _mm256_storeu_ps(d + 3 * R, _mm256_permute2f128_ps(r[3], r[7], 0x20));
        _mm256_storeu_ps(d + 4 * R, _mm256_permute2f128_ps(r[0], r[4], 0x31));
        _mm256_storeu_ps(d + 5 * R, _mm256_permute2f128_ps(r[1], r[5], 0x31));
        _mm256_storeu_ps(d + 6 * R, _mm256_permute2f128_ps(r[2], r[6], 0x31));
        _mm256_storeu_ps(d + 7 * R, _mm256_permute2f128_ps(r[3], r[7], 0x31));
      }
      for (; p < kc; ++p)
        for (int q = 0; q < 8; ++q) dst[p * R + r0 + q] = rows[r0 + q][p];
    }
  } else {
    for (; r0 + 4 <= valid; r0 += 4) {
      const double* s[4];
      for (int q = 0; q < 4; ++q) s[q] = reinterpret_cast<const double*>(rows[r0 + q]);
      index_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        __m256d r[4], t[4];
        for (int q = 0; q < 4; ++q) r[q] = _mm256_loadu_pd(s[q] + p);
        t[0] = _mm256_unpacklo_pd(r[0], r[1]); t[1] = _mm256_unpackhi_pd(r[0], r[1]);
        t[2] = _mm256_unpacklo_pd(r[2], r[3]); t[3] = _mm256_unpackhi_pd(r[2], r[3]);
        double* d = reinterpret_cast<double*>(dst) + p * R + r0;
        _mm256_storeu_pd(d + 0 * R, _mm256_permute2f128_pd(t[0], t[2], 0x20));
        _mm256_storeu_pd(d + 1 * R, _mm256_permute2f128_pd(t[1], t[3], 0x20));
        _mm256_storeu_pd(d + 2 * R, _mm256_permute2f128_pd(t[0], t[2], 0x31));
        _mm256_storeu_pd(d + 3 * R, _mm256_permute2f128_pd(t[1], t[3], 0x31));
      }
      for (; p < kc; ++p)
        for (int q = 0; q < 4; ++q) dst[p * R + r0 + q] = rows[r0 + q][p];
    }
  }
#endif
  if (r0 < R) {
    for (index_t p = 0; p < kc; ++p)
      for (int r = r0; r < R; ++r) dst[p * R + r] = r < valid ? rows[r][p] : T(0);
  }
}

// d[r] = s[r] for r < valid, 0 for valid <= r < R (nothing past s[valid - 1] is read).
template <class T, int R>
static inline void copy_row(T* __restrict d, const T* s, index_t valid) {
  if (valid == R) {
    std::memcpy(d, s, sizeof(T) * R);
  } else {
    for (int r = 0; r < R; ++r) d[r] = r < valid ? s[r] : T(0);
  }
}

// dst[p*R + r] = src[p*ld + r] for r < valid (0 beyond), p < kc: packed rows are contiguous.
template <class T, int R>
static void pack_copy(T* __restrict dst, const T* src, index_t ld, int valid, index_t kc) {
  for (index_t p = 0; p < kc; ++p) copy_row<T, R>(dst + p * R, src + p * ld, valid);
}

template <class T, int MR>
static void pack_a_panel(T* __restrict dst, const T* a, index_t lda, bool trans, index_t i0, index_t p0,
                         int mr_valid, index_t kc) {
  if (trans) return pack_copy<T, MR>(dst, a + p0 * lda + i0, lda, mr_valid, kc);  // op(A)(i,p) = a[p][i]
  const T* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = a + (i0 + (i < mr_valid ? i : 0)) * lda + p0;
  pack_transpose<T, MR>(dst, rows, mr_valid, kc);
}

// Two adjacent A panels (rows i0 ... i0 + 2*MR of op(A)) from a transposed A in one pass:
// each source row segment is read once for both (2*MR elements: one cache line for float
// on AVX-512), where two single passes fetch every line twice -- with a power-of-two lda
// its lines share a few cache sets and are evicted between the passes.
template <class T, int MR>
static void pack_a_pair_trans(T* __restrict dst0, T* __restrict dst1, const T* a, index_t lda, index_t i0,
                              index_t p0, int mv0, int mv1, index_t kc) {
  for (index_t p = 0; p < kc; ++p) {
    const T* s = a + (p0 + p) * lda + i0;
    copy_row<T, MR>(dst0 + p * MR, s, mv0);
    copy_row<T, MR>(dst1 + p * MR, s + MR, mv1);
  }
}

template <class T, int NR>
static void pack_b_panel(T* __restrict dst, const T* b, index_t ldb, bool trans, index_t p0, index_t j0,
                         int nr_valid, index_t kc) {
  if (!trans) return pack_copy<T, NR>(dst, b + p0 * ldb + j0, ldb, nr_valid, kc);
  const T* cols[NR];  // op(B)(p,j) = b[j][p]
  for (int j = 0; j < NR; ++j) cols[j] = b + (j0 + (j < nr_valid ? j : 0)) * ldb + p0;
  pack_transpose<T, NR>(dst, cols, nr_valid, kc);
}

// Rows ahead that pack_b_block prefetches.  Each row segment it copies lies a whole row
// of B (the weights: 8 kB for 2048 columns) after the previous one, a new page that the
// hardware prefetchers do not predict; when B comes from DRAM (a training step's weights,
// after the optimizer streamed the parameters and their state) every row waited for
// memory.  Measured on the 1024-2048-2048-10 step: forward GEMMs ~3 % faster at 16 rows
// (no gain at 4, none more at 32); warm-cache GEMMs unchanged.
constexpr index_t kPackAhead = 16;

// A block of `panels` B panels, panel q covering columns j0 + q*NR ... (columns from
// n_end on are zeros), panel-major: dst + q * NR * kc.  Not transposed, the copy walks
// each source row once across all panels (one long contiguous read per row instead of
// one per panel).
template <class T, int NR>
static void pack_b_block(T* __restrict dst, const T* b, index_t ldb, bool trans, index_t p0, index_t j0,
                         index_t panels, index_t n_end, index_t kc) {
  if (trans) {
    for (index_t q = 0; q < panels; ++q) {
      const int nv = int(std::min<index_t>(NR, n_end - j0 - q * NR));
      pack_b_panel<T, NR>(dst + q * NR * kc, b, ldb, true, p0, j0 + q * NR, nv, kc);
    }
    return;
  }
  const index_t row_bytes = index_t(sizeof(T)) * std::min<index_t>(panels * NR, n_end - j0);
  for (index_t p = 0; p < kc; ++p) {
    const T* src = b + (p0 + p) * ldb;
    if (p + kPackAhead < kc) {  // the row segment kPackAhead rows on, line by line
      const char* next = reinterpret_cast<const char*>(src + kPackAhead * ldb + j0);
      for (index_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(next + o, 0, 3);
    }
    for (index_t q = 0; q < panels; ++q)
      copy_row<T, NR>(dst + q * NR * kc + p * NR, src + j0 + q * NR, std::min<index_t>(NR, n_end - j0 - q * NR));
  }
}
