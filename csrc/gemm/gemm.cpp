// Portable GEMM loop nest (BLIS style), written once and compiled per ISA; the register
// tile comes from the ISA's micro-kernel header.
//
//   threads: a tm x tn grid over (MR panels of C rows) x (C columns, split evenly in units
//            of the narrowest tile; a share's last panel runs on the narrowest tile that
//            covers it)
//   each thread, on its own share, with private buffers and no barriers:
//     for p in K step KC           (fixed split of K: same arithmetic at any thread count)
//       for jb in its N panels step NC/NR:
//         pack B block (KC x NC)                                             -> L2
//         for ir over its MR panels:
//           pack A micro-panel (MR x KC)                                     -> L1
//           for jr over the block's NR panels: micro-kernel on one tile of C
//
// Threads split M/N work, never K: each element of C is computed by the same sequence
// of operations whatever the thread count, so results are bitwise reproducible.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <new>

#include "fastnn/dispatch.h"
#include "fastnn/gemm.h"

#if defined(FASTNN_ISA_avx512)
#include "gemm/ukernels/ukr_avx512.h"
#elif defined(FASTNN_ISA_avx2)
#include "gemm/ukernels/ukr_avx2.h"
#else
#include "gemm/ukernels/ukr_generic.h"
#endif

FASTNN_ISA_BEGIN
namespace {

#include "gemm/pack.h"

inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Untransposed B is read in place (not packed) when C has at most this many rows and B
// at most this many bytes: with few A panels each packed B element would be used only a
// few times.  Measured at 2 threads (Zen 5): 32x512x784 97 -> 71 us, 128x512x784 305 ->
// 239 us, 256x1024x1024 1.32 -> 1.16 ms; at 8 MB of B even, at 16 MB (2048x2048) 10-15 %
// slower, even at 64 rows.
constexpr index_t kDirectBMaxM = 256;
constexpr size_t kDirectBMaxBytes = size_t(4) << 20;

// Grow-only, 64-byte aligned scratch buffer.
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(p); }
  template <class T>
  T* get(size_t count) {
    const size_t need = ((count * sizeof(T) + 63) / 64) * 64;
    if (need > bytes) {
      std::free(p);
      p = std::aligned_alloc(64, need);
      bytes = p ? need : 0;
    }
    return static_cast<T*>(p);
  }
};

// Bias, pre-activation copy and activation over a rows x cols block of C.
template <class T>
void epilogue(const GemmArgs<T>& g, index_t i0, index_t rows, index_t j0, index_t cols) {
  for (index_t i = i0; i < i0 + rows; ++i) {
    T* ci = g.c + i * g.ldc + j0;
    if (g.bias) {
      const T* bj = g.bias + j0;
#pragma omp simd
      for (index_t j = 0; j < cols; ++j) ci[j] += bj[j];
    }
    if (g.z) {
      T* zi = g.z + i * g.ldz + j0;
#pragma omp simd
      for (index_t j = 0; j < cols; ++j) zi[j] = ci[j];
    }
    if (g.act) g.act(cols, ci, ci, g.act_alpha);
  }
}

bool has_epilogue_work(const GemmArgs<float>& g) { return g.bias || g.z || g.act; }
bool has_epilogue_work(const GemmArgs<double>& g) { return g.bias || g.z || g.act; }

// K == 0: C = beta * C, then the epilogue.
template <class T>
void scale_only(const GemmArgs<T>& g) {
  for (index_t i = 0; i < g.m; ++i) {
    T* ci = g.c + i * g.ldc;
    for (index_t j = 0; j < g.n; ++j) ci[j] = g.beta == T(0) ? T(0) : g.beta * ci[j];
  }
  if (has_epilogue_work(g)) epilogue(g, 0, g.m, 0, g.n);
}

// Everything a thread needs to run its share of one GEMM.
template <class T>
struct Plan {
  const GemmArgs<T>* g;
  index_t kc_nom, m_panels, nb_max;
  int nt, tm, tn;
  bool epi;
  bool direct_b;  // full B panels read in place (see gemm_plan)
  bool a_once;    // a thread's A panels packed once per K block (see gemm_thread)
  bool direct_a;  // A read in place: each A panel used once, or A untransposed and in L1
  bool epi_in_ukr;  // the epilogue (bias, z, identity or relu) runs in the micro-kernel's registers
};

constexpr size_t kADirectMaxBytes = 32 * 1024;  // untransposed A read in place (see gemm_plan)
constexpr size_t kAOnceMaxBytes = 512 * 1024;  // packed A panels of one share, in L2 beside a B block

// The width of the tile that runs a panel of nv <= U::NR columns: the narrowest of the
// ISA's tiles (no wider than U) that covers it.
template <class U, class Mid, class Narrow>
constexpr int tile_for(int nv) {
  return nv <= Narrow::NR ? Narrow::NR : (Mid::NR < U::NR && nv <= Mid::NR) ? Mid::NR : U::NR;
}

// One C tile on micro-kernel K (packed A, or A in place).
template <class K, class T>
inline void run_tile(bool direct_a, index_t kc, const T* a, index_t as, index_t ai, const T* b, index_t ldb, T* c,
                     index_t ldc, T alpha, T beta, int mv, int nv, const UkrEpi<T>* e) {
  if (direct_a) K::run_direct(kc, a, as, ai, b, ldb, c, ldc, alpha, beta, mv, nv, e);
  else K::run(kc, a, b, ldb, c, ldc, alpha, beta, mv, nv, e);
}

// First column of thread column t of tn: the n columns split evenly in whole units of
// the narrowest tile.
template <class Narrow>
index_t share_col(index_t n, int tn, int t) {
  return std::min(n, ceil_div(n, Narrow::NR) * t / tn * Narrow::NR);
}

// One thread's share: the C tiles in its (M range) x (N range) of the thread grid.  The
// share is self-contained (private packed A and B, no barriers), so a thread that loses
// its core to another process delays only its own tiles, never the whole team.
// Returns false if its scratch could not be allocated.
template <class T, class U, class Mid, class Narrow>
bool gemm_thread(const Plan<T>& P, int tid) {
  constexpr int MR = U::MR, NR = U::NR;
  const GemmArgs<T>& g = *P.g;
  const index_t M = g.m, N = g.n, K = g.k;
  // (One thread: its share is all of C, without the divisions, which cost a small GEMM ~1 %.)
  const bool whole = P.nt == 1;
  const int tid_m = whole ? 0 : tid / P.tn, tid_n = whole ? 0 : tid % P.tn;
  const index_t ip_begin = whole ? 0 : P.m_panels * tid_m / P.tm;
  const index_t ip_end = whole ? P.m_panels : P.m_panels * (tid_m + 1) / P.tm;
  const index_t c0 = whole ? 0 : share_col<Narrow>(N, P.tn, tid_n);
  const index_t c1 = whole ? N : share_col<Narrow>(N, P.tn, tid_n + 1);
  if (ip_begin >= ip_end || c0 >= c1) return true;
  const index_t share_np = ceil_div(c1 - c0, NR);  // panels from c0; the last may be narrower

  // A share that spans several B blocks packs its A panels once per K block (into L2,
  // beside the B block) instead of once per B block, when they are small enough.
  const index_t share_panels = ip_end - ip_begin;
  const bool a_once = P.a_once;
  static thread_local Scratch a_scratch, b_scratch;
  T* ap = a_scratch.get<T>(size_t(MR) * size_t(P.kc_nom) * size_t(a_once ? share_panels : 2));
  // Panels ip, ip + 1 of op(A) = a^T are packed together (see pack_a_pair_trans).
  const auto pack_a = [&](T* dst, index_t ip, index_t p0, index_t kc) {
    const int mv = int(std::min<index_t>(MR, M - ip * MR));
    if (g.trans_a && ip + 1 < ip_end)
      pack_a_pair_trans<T, MR>(dst, dst + MR * kc, g.a, g.lda, ip * MR, p0, mv,
                               int(std::min<index_t>(MR, M - (ip + 1) * MR)), kc);
    else
      pack_a_panel<T, MR>(dst, g.a, g.lda, g.trans_a, ip * MR, p0, mv, kc);
  };
  const index_t a_step = g.trans_a ? 2 : 1;  // panels one pack_a call fills
  T* bp = b_scratch.get<T>(size_t(P.kc_nom) * size_t(P.nb_max * NR));
  if (!ap || !bp) return false;

  for (index_t p0 = 0; p0 < K; p0 += P.kc_nom) {
    const index_t kc = std::min(P.kc_nom, K - p0);
    const bool first = p0 == 0, last = p0 + kc >= K;
    const T beta = first ? g.beta : T(1);
    if (a_once)
      for (index_t ip = ip_begin; ip < ip_end; ip += a_step) pack_a(ap + (ip - ip_begin) * MR * kc, ip, p0, kc);
    for (index_t q0 = 0; q0 < share_np; q0 += P.nb_max) {
      const index_t q1 = std::min(share_np, q0 + P.nb_max);
      // B block -> L2.  Packed, unless it is small and untransposed (then its panels are
      // read in place, except a last one whose tile would read past B's columns: that one
      // is packed, zero-padded).
      const index_t jlast = c0 + (q1 - 1) * NR;
      const bool ragged = jlast + tile_for<U, Mid, Narrow>(int(std::min<index_t>(NR, c1 - jlast))) > N;
      if (!P.direct_b)
        pack_b_block<T, NR>(bp, g.b, g.ldb, g.trans_b, p0, c0 + q0 * NR, q1 - q0, c1, kc);
      else if (ragged)
        pack_b_block<T, NR>(bp, g.b, g.ldb, false, p0, jlast, 1, c1, kc);
      for (index_t ip = ip_begin; ip < ip_end; ++ip) {
        const index_t i = ip * MR;
        const int mv = int(std::min<index_t>(MR, M - i));
        // A micro-panel -> L1, reused across the B block.
        const index_t slot = a_step == 2 ? (ip - ip_begin) & 1 : 0;
        const T* a_panel = ap + (a_once ? ip - ip_begin : slot) * MR * kc;
        if (!a_once && !P.direct_a && slot == 0) pack_a(ap, ip, p0, kc);
        for (index_t q = q0; q < q1; ++q) {
          const index_t j = c0 + q * NR;
          const int nv = int(std::min<index_t>(NR, c1 - j));
          const bool in_place = P.direct_b && !(ragged && q == q1 - 1);
          const T* b_panel = in_place ? g.b + p0 * g.ldb + j : (P.direct_b ? bp : bp + (q - q0) * NR * kc);
          const index_t ldb = in_place ? g.ldb : index_t(NR);
          T* c = g.c + i * g.ldc + j;
          UkrEpi<T> e;  // bias, z and relu in registers (last K block)
          const bool in_regs = last && P.epi_in_ukr;
          if (in_regs) {
            e.bias = g.bias ? g.bias + j : nullptr;
            e.z = g.z ? g.z + i * g.ldz + j : nullptr;
            e.ldz = g.ldz;
            e.relu = g.act != nullptr;
          }
          // A in place: op(A)(i, p) = a[i][p], or a[p][i] transposed.
          const T* a_tile = P.direct_a ? (g.trans_a ? g.a + p0 * g.lda + i : g.a + i * g.lda + p0) : a_panel;
          const index_t as = g.trans_a ? g.lda : 1, ai = g.trans_a ? 1 : g.lda;
          const UkrEpi<T>* ep = in_regs ? &e : nullptr;
          const int kw = nv == NR ? NR : tile_for<U, Mid, Narrow>(nv);
          if (kw == NR)
            run_tile<U>(P.direct_a, kc, a_tile, as, ai, b_panel, ldb, c, g.ldc, g.alpha, beta, mv, nv, ep);
          else if (kw == Narrow::NR)
            run_tile<Narrow>(P.direct_a, kc, a_tile, as, ai, b_panel, ldb, c, g.ldc, g.alpha, beta, mv, nv, ep);
          else
            run_tile<Mid>(P.direct_a, kc, a_tile, as, ai, b_panel, ldb, c, g.ldc, g.alpha, beta, mv, nv, ep);
          if (last && P.epi && !P.epi_in_ukr) epilogue(g, i, mv, j, nv);
        }
      }
    }
  }
  return true;
}

// Threads for a GEMM of this size: by work, then by available parallelism (fewer while
// the cores are contended).
template <class T>
int gemm_threads(const GemmArgs<T>& g) {
  const double flops = 2.0 * double(g.m) * double(g.n) * double(g.k);
  return int(std::max(1.0, std::min(double(std::min(g.num_threads, team_threads())), flops * 0.5e-6 + 1.0)));
}

// The plan of one GEMM with tile U on nt threads, and its modelled cost: the largest
// thread share's micro-kernel work (padded tiles, scaled by the tile's relative speed)
// plus its packing (A panels once per B block -- once per K block when they fit in L2, not
// at all when read in place --, B once per thread share unless read in place).
// The cost decides the thread grid and the tile width; neither changes a result.
template <class T, class U, class Wide, class Mid, class Narrow>
double gemm_plan(const GemmArgs<T>& g, int nt, Plan<T>& P) {
  constexpr int MR = U::MR, NR = U::NR;
  const index_t M = g.m, N = g.n, K = g.k;
  P.g = &g;
  // K split: as few blocks as KC allows, balanced; depends on K only.
  P.kc_nom = ceil_div(K, ceil_div(K, U::KC));
  P.m_panels = ceil_div(M, MR);
  P.nb_max = std::max<index_t>(1, U::NC / NR);  // B panels per L2 block
  P.epi = has_epilogue_work(g);
  P.epi_in_ukr = P.epi && (g.act == nullptr || g.act_id == ACT_RELU || g.act_id == ACT_IDENTITY);
  // B in place or packed (see kDirectBMaxM): same operations either way.
  P.direct_b = !g.trans_b && M <= kDirectBMaxM && size_t(K) * size_t(N) * sizeof(T) <= kDirectBMaxBytes;
  // Narrower tiles reuse each A broadcast less (measured on AVX-512: 8x32 ~3 %, 8x16 ~15 %
  // slower per FMA than 8x48).
  const double speed = NR == Wide::NR ? 1.0 : 3 * NR >= 2 * Wide::NR ? 1.04 : 1.15;
  // Micro-kernel work of a share `w` columns wide, its last panel priced as a full one
  // (a narrower tile runs it, but pricing it lower picked 48 + 16 over 32 + 32 for N = 64,
  // ~5 % slower on 20-64-64-2 steps).
  const auto columns_cost = [&](index_t w) { return double(ceil_div(w, NR) * NR) * speed; };
  // Packing one element costs about as much as this many multiply-adds (a copy; a
  // transposing copy twice as much).
  const double pack_a = g.trans_a ? 16.0 : 32.0, pack_b = P.direct_b ? 0.0 : g.trans_b ? 32.0 : 16.0;
  // A share of `rows` rows of A spanning `np` B panels reads A in place when each A panel
  // would be used once, or (untransposed) when the share stays in L1: 20-64-64-2 steps ~2 %
  // faster; larger A (128x784) measured slower than packed.
  const auto a_in_place = [&](double rows, double np) {
    return np <= 1 || (!g.trans_a && np <= double(P.nb_max) && rows * double(K) * sizeof(T) <= double(kADirectMaxBytes));
  };
  const auto a_once_fits = [&](double rows) {
    return rows * double(P.kc_nom) * sizeof(T) <= double(kAOnceMaxBytes);
  };
  const index_t n_units = ceil_div(N, Narrow::NR);  // threads split C's columns in these
  nt = int(std::min<index_t>(nt, P.m_panels * n_units));
  double best = -1;
  P.tm = P.tn = 1;
  const auto share_width = [&](int cn) { return std::min(N, ceil_div(n_units, cn) * Narrow::NR); };  // the widest
  for (int d = 1; d <= nt; ++d) {
    if (nt % d) continue;
    const int cn = d, cm = nt / d;
    if (cn > n_units || cm > P.m_panels) continue;
    const index_t w = share_width(cn);
    const double ms = double(ceil_div(P.m_panels, cm) * MR), np = double(ceil_div(w, NR));
    const double blocks = a_once_fits(ms) ? 1.0 : std::ceil(np / double(P.nb_max));
    // (packed B panels are NR wide, zero-padded)
    const double cost = ms * columns_cost(w) + (a_in_place(ms, np) ? 0.0 : pack_a * ms * blocks) + pack_b * np * NR;
    if (best < 0 || cost < best) { best = cost; P.tn = cn; P.tm = cm; }
  }
  P.nt = P.tm * P.tn;
  const double ms = double(ceil_div(P.m_panels, P.tm) * MR), np = double(ceil_div(share_width(P.tn), NR));
  P.direct_a = a_in_place(ms, np);
  P.a_once = np > double(P.nb_max) && a_once_fits(ms);  // pays when a share spans several B blocks
  return best * double(K);
}

template <class T, class U, class Mid, class Narrow>
void gemm_run(const Plan<T>& P) {
  bool ok = true;
  if (P.nt == 1) {
    ok = gemm_thread<T, U, Mid, Narrow>(P, 0);
  } else {
    const double t0 = omp_get_wtime();
    double own = 0;
#pragma omp parallel num_threads(P.nt) reduction(&& : ok)
    {
      // The runtime may grant fewer threads (nesting, thread limits): then each thread
      // runs several shares.  The split never changes the arithmetic.
      const int team = omp_get_num_threads(), me = omp_get_thread_num();
      const double s0 = omp_get_wtime();
      for (int t = me; t < P.nt; t += team) ok = gemm_thread<T, U, Mid, Narrow>(P, t) && ok;
      if (me == 0) own = omp_get_wtime() - s0;
    }
    note_team_wait(omp_get_wtime() - t0, own);
  }
  if (!ok) throw std::bad_alloc();
}

// A product with side work (see SideWork): shares, more than threads, go to threads as
// they come free; thread 0 runs side items first, and every thread helps with what is left
// of them at the end.  Which thread runs a share never changes its arithmetic.
constexpr int kSideSharesPerThread = 4;

template <class T, class U, class Mid, class Narrow>
void gemm_run_side(const Plan<T>& P, int team) {
  SideWork* side = P.g->side;
  std::atomic<int> next{0};
  bool ok = true;
#pragma omp parallel num_threads(team) reduction(&& : ok)
  {
    if (omp_get_thread_num() == 0)
      while (side->run_one()) {
      }
    for (int t = next.fetch_add(1, std::memory_order_relaxed); t < P.nt; t = next.fetch_add(1, std::memory_order_relaxed))
      ok = gemm_thread<T, U, Mid, Narrow>(P, t) && ok;
    while (side->run_one()) {
    }
  }
  if (!ok) throw std::bad_alloc();
}

// The tile width (and thread grid) of least modelled cost.  Every tile computes each
// element of C with the same operations in the same order: bitwise the same result.
// Plans depend on the shape, the transposes, the epilogue's form and the thread count
// only: the last few are kept per thread (a training step calls the same few shapes).
struct PlanKey {
  index_t m = -1, n = 0, k = 0;
  std::int64_t flags_nt = 0;  // flags | nt << 32: one word (compared as two ints, the compiler
                              // merged them into one load of two fresh stores, a forwarding stall)
  bool operator==(const PlanKey& o) const { return m == o.m && n == o.n && k == o.k && flags_nt == o.flags_nt; }
};
template <class T>
struct CachedPlan {
  PlanKey key;
  int tile = 0;  // 0 wide, 1 mid, 2 narrow
  Plan<T> plan;
};

template <class T, class Wide, class Mid, class Narrow>
void gemm_pick(const GemmArgs<T>& g);

// C = op(A) op(B) computed as C^T = op(B)^T op(A)^T (into scratch, then transposed into C)
// when C has more rows than columns and few columns:
//  - op(A) transposed, C at most the narrowest tile wide, no epilogue: the weight gradient
//    x^T dz of a layer with a few units.  The swapped product reads x in place where the
//    direct one packs it transposed, and pads C's few columns to a tile row (8) instead of
//    a tile's columns (16 for float on AVX-512).  Measured (Zen 5, one thread): 64x2x32
//    0.52 -> 0.28 us, 2048x10x256 140 -> 77 us, 2048x16x256 145 -> 88 us; at 32 columns it
//    loses (19 -> 25 us for 512x32x128).
//  - op(A) untransposed, at most kSwapFewCols columns, bias and pre-activation copy but no
//    activation: the forward pass of an output layer with one to four units, whose direct
//    product pads each row's few columns to a whole vector tile; swapped, C's columns are
//    a tile's rows, and a tile of few rows runs only their multiply-adds (bias and copy
//    applied in the transpose back).
// Each element of C gets the same operations in the same order either way (fma(a, b, c)
// is symmetric in a and b; beta's C is copied into the scratch first; the bias is added to
// the finished sum as the micro-kernel's epilogue adds it).
constexpr index_t kSwapFewCols = 4;

template <class T, class Narrow>
bool swap_pays(const GemmArgs<T>& g) {
  if (g.m <= g.n) return false;
  if (g.trans_a) return g.n <= Narrow::NR && !has_epilogue_work(g);
  return g.n <= kSwapFewCols && g.act == nullptr;
}

template <class T, class Wide, class Mid, class Narrow>
void gemm_swapped(const GemmArgs<T>& g) {
  static thread_local Scratch scratch;
  const index_t M = g.m, N = g.n;
  T* t = scratch.get<T>(size_t(M) * size_t(N));  // C^T (N, M)
  if (!t) throw std::bad_alloc();
  // (C's few columns outermost: long inner loops; the other order ran 2-iteration loops.)
  if (g.beta != T(0))
    for (index_t j = 0; j < N; ++j)
      for (index_t i = 0; i < M; ++i) t[j * M + i] = g.c[i * g.ldc + j];
  GemmArgs<T> h = g;
  h.m = N; h.n = M;
  h.a = g.b; h.lda = g.ldb; h.trans_a = !g.trans_b;
  h.b = g.a; h.ldb = g.lda; h.trans_b = !g.trans_a;
  h.c = t; h.ldc = M;
  h.bias = nullptr; h.z = nullptr;  // applied below (swap_pays admits no activation)
  gemm_pick<T, Wide, Mid, Narrow>(h);
  for (index_t j = 0; j < N; ++j) {
    const T* tj = t + j * M;
    T* cj = g.c + j;
    if (g.bias) {
      const T bj = g.bias[j];
      for (index_t i = 0; i < M; ++i) cj[i * g.ldc] = tj[i] + bj;
    } else {
      for (index_t i = 0; i < M; ++i) cj[i * g.ldc] = tj[i];
    }
    if (g.z)
      for (index_t i = 0; i < M; ++i) g.z[i * g.ldz + j] = cj[i * g.ldc];
  }
}

template <class T, class Wide, class Mid, class Narrow>
void gemm_pick(const GemmArgs<T>& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) return scale_only(g);
  if (swap_pays<T, Narrow>(g)) return gemm_swapped<T, Wide, Mid, Narrow>(g);
  PlanKey key;
  key.m = g.m; key.n = g.n; key.k = g.k;
  const int team = gemm_threads(g);
  const bool side = g.side && team > 1;
  const int nt = side ? team * kSideSharesPerThread : team;
  const int flags = int(g.trans_a) | int(g.trans_b) << 1 | int(g.bias != nullptr) << 2 | int(g.z != nullptr) << 3 |
                    int(g.act != nullptr) << 4 | (g.act_id == ACT_RELU || g.act_id == ACT_IDENTITY) << 5;
  key.flags_nt = std::int64_t(flags) | std::int64_t(nt) << 32;
  constexpr int kSlots = 16;
  static thread_local CachedPlan<T> cache[kSlots];
  CachedPlan<T>& e = cache[std::size_t(key.m * 31 + key.n * 7 + key.k + flags * 131 + nt) % kSlots];
  if (!(e.key == key)) {
    Plan<T> pw, pm, pn;
    const double cw = gemm_plan<T, Wide, Wide, Mid, Narrow>(g, nt, pw);
    const double cm = gemm_plan<T, Mid, Wide, Mid, Narrow>(g, nt, pm);
    const double cn = gemm_plan<T, Narrow, Wide, Mid, Narrow>(g, nt, pn);
    e.key = key;
    // On a tie the narrower tile: the same kernels run, on less zero padding in packed B
    // (a C narrower than every tile, N = 10, costs the same on each).
    if (cn <= cm && cn <= cw) e.tile = 2, e.plan = pn;
    else if (cm <= cw) e.tile = 1, e.plan = pm;
    else e.tile = 0, e.plan = pw;
  }
  Plan<T> P = e.plan;
  P.g = &g;
  if (side && P.nt > 1) {
    if (e.tile == 2) return gemm_run_side<T, Narrow, Mid, Narrow>(P, team);
    if (e.tile == 1) return gemm_run_side<T, Mid, Mid, Narrow>(P, team);
    return gemm_run_side<T, Wide, Mid, Narrow>(P, team);
  }
  if (e.tile == 2) return gemm_run<T, Narrow, Mid, Narrow>(P);
  if (e.tile == 1) return gemm_run<T, Mid, Mid, Narrow>(P);
  gemm_run<T, Wide, Mid, Narrow>(P);
}

void sgemm(const GemmArgs<float>& g) { gemm_pick<float, UkrF32, UkrF32N2, UkrF32N1>(g); }
void dgemm(const GemmArgs<double>& g) { gemm_pick<double, UkrF64, UkrF64N2, UkrF64N1>(g); }

}  // namespace

void fill_gemm(GemmKernels& t) {
  t.sgemm = sgemm;
  t.dgemm = dgemm;
  t.mr_f32 = UkrF32::MR;
  t.nr_f32 = UkrF32::NR;
  t.mr_f64 = UkrF64::MR;
  t.nr_f64 = UkrF64::NR;
}

FASTNN_ISA_END
