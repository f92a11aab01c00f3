// The register-tiled micro-kernel body, written once over a vector-traits type V
// (see ukr_avx2.cpp / ukr_avx512.cpp for the traits).  Must be included inside the
// ISA namespace.
//
// V provides: T, reg, mask, W (lanes), zero(), load(p), loadm(p, mk), store(p, r),
// storem(p, mk, r), set1(x), fma(a, b, c) = a*b + c, mul(a, b), mask_n(n).
#pragma once

// MR rows of an RS-row tile: packed A is a[p*RS + i]; DIRECT: A(i, p) = a[p*as + i*ai] (rows
// >= m repeat row m-1).
template <class V, int MR, int NV, bool DIRECT, int RS>
static inline void ukr_rows(index_t k, const typename V::T* __restrict a, const typename V::T* __restrict b,
                            index_t ldb, typename V::T* __restrict c, index_t ldc, typename V::T alpha,
                            typename V::T beta, int m, int n, const UkrEpi<typename V::T>* epi, index_t as,
                            index_t ai) {
  using T = typename V::T;
  using R = typename V::reg;
  constexpr int W = V::W;
  R acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  // Every cache line of the tile's C rows, for writing (its first line only left the
  // others to miss at the stores).
  constexpr int kLines = (NV * W * int(sizeof(T)) + 63) / 64, kLineElems = 64 / int(sizeof(T));
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int l = 0; l < kLines; ++l) __builtin_prefetch(c + i * ldc + l * kLineElems, 1, 3);

  for (index_t p = 0; p < k; ++p) {
    const T* bp = b + p * ldb;
    R bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) bv[j] = V::load(bp + j * W);
    const T* ap = a + p * (DIRECT ? as : RS);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const R av = V::set1(DIRECT ? ap[(i < m ? i : m - 1) * ai] : ap[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
  }

  if (alpha != T(1)) {  // alpha = 1 (the training passes): acc as it is, bitwise 1 * acc
    const R va = V::set1(alpha);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = V::mul(va, acc[i][j]);
  }
  const R vb = V::set1(beta);
  const T* bias = epi ? epi->bias : nullptr;
  T* z = epi ? epi->z : nullptr;
  const bool relu = epi && epi->relu;
  if (m == MR && n == NV * W) {
    R bv[NV];
    if (bias)
      for (int j = 0; j < NV; ++j) bv[j] = V::load(bias + j * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        R r = acc[i][j];
        if (beta != T(0)) r = V::fma(vb, V::load(ci + j * W), r);
        if (epi) {
          if (bias) r = V::add(r, bv[j]);
          if (z) V::store(z + i * epi->ldz + j * W, r);
          if (relu) r = V::relu(r);
        }
        V::store(ci + j * W, r);
      }
    }
    return;
  }
  // (Unrolled like the loops above: a rolled loop indexing acc made the compiler keep the
  // accumulators in memory, zeroed before the k loop and stored after it, on every tile.)
  typename V::mask mk[NV];
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) mk[j] = V::mask_n(n - j * W);
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    T* ci = c + i * ldc;
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      R r = acc[i][j];
      if (beta != T(0)) r = V::fma(vb, V::loadm(ci + j * W, mk[j]), r);
      if (epi) {
        if (bias) r = V::add(r, V::loadm(bias + j * W, mk[j]));
        if (z) V::storem(z + i * epi->ldz + j * W, mk[j], r);
        if (relu) r = V::relu(r);
      }
      V::storem(ci + j * W, mk[j], r);
    }
  }
}

// One MR x NV*W tile; a tile of at most 2 or 4 rows (a C with few rows, or its last panel:
// the swapped product of a layer with few units) runs only those rows' multiply-adds.
// Each element of C gets the same operations either way.
template <class V, int MR, int NV, bool DIRECT = false>
static inline void ukr_vec(index_t k, const typename V::T* __restrict a, const typename V::T* __restrict b,
                           index_t ldb, typename V::T* __restrict c, index_t ldc, typename V::T alpha,
                           typename V::T beta, int m, int n, const UkrEpi<typename V::T>* epi,
                           index_t as = MR, index_t ai = 1) {
  if constexpr (MR > 4) {
    if (m <= 2) return ukr_rows<V, 2, NV, DIRECT, MR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
    if (m <= 4) return ukr_rows<V, 4, NV, DIRECT, MR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
  }
  ukr_rows<V, MR, NV, DIRECT, MR>(k, a, b, ldb, c, ldc, alpha, beta, m, n, epi, as, ai);
}
