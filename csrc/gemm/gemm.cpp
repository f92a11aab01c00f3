// Portable GEMM loop nest (BLIS style), written once and compiled per ISA; the register
// tile comes from the ISA's micro-kernel header.
//
//   for i3 in M step MC            A block (MC x KC) packed once, shared    -> L3
//     for p in K step KC           (fixed split of K: same arithmetic at any thread count)
//       pack A block cooperatively; barrier
//       for (n2-block, m-part) work items, one thread each:
//         pack B block (KC x NC) into the thread's buffer                    -> L2
//         for ir over MR panels:   A micro-panel (MR x KC)                   -> L1
//           for jr over NR panels: micro-kernel on one MR x NR tile of C
//
// Threads split M/N work, never K: each element of C is computed by the same sequence
// of operations whatever the thread count, so results are bitwise reproducible.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <new>

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
  index_t kc_nom, mc, n_panels, nb_max;
  int nt, tm, tn;
  T* ap;                 // shared packed A block (mc x kc_nom)
  bool epi;
  bool* alloc_failed;
};

// One thread's share of the loop nest.  Called inside a parallel region of exactly P.nt
// threads, or directly when P.nt == 1 (no OpenMP start-up cost for small problems).
// Barriers are skipped when P.nt == 1: an orphaned barrier would otherwise bind to an
// enclosing parallel region of the caller (e.g. several models trained at once).
template <class T, class U>
void gemm_thread(const Plan<T>& P, int tid) {
  constexpr int MR = U::MR, NR = U::NR;
  const GemmArgs<T>& g = *P.g;
  const index_t M = g.m, N = g.n, K = g.k;
  const int tid_m = tid / P.tn, tid_n = tid % P.tn;
  const index_t jp_begin = P.n_panels * tid_n / P.tn, jp_end = P.n_panels * (tid_n + 1) / P.tn;

  static thread_local Scratch b_scratch;
  T* bp = b_scratch.get<T>(size_t(P.kc_nom) * size_t(P.nb_max * NR));
  if (!bp) {
#pragma omp atomic write
    *P.alloc_failed = true;
  }
  if (P.nt > 1) {
#pragma omp barrier
  }
  bool failed;
#pragma omp atomic read
  failed = *P.alloc_failed;
  if (failed) return;  // every thread sees the flag after the barrier: all leave together

  for (index_t i3 = 0; i3 < M; i3 += P.mc) {
    const index_t mcur = std::min(P.mc, M - i3);
    const index_t m_panels = ceil_div(mcur, MR);
    const index_t ip_begin = m_panels * tid_m / P.tm, ip_end = m_panels * (tid_m + 1) / P.tm;
    for (index_t p0 = 0; p0 < K; p0 += P.kc_nom) {
      const index_t kc = std::min(P.kc_nom, K - p0);
      const bool first = p0 == 0, last = p0 + kc >= K;
      const T beta = first ? g.beta : T(1);
      // Pack this thread's share of the A block, then wait for the others' shares.
      for (index_t ip = m_panels * tid / P.nt; ip < m_panels * (tid + 1) / P.nt; ++ip) {
        const int mv = int(std::min<index_t>(MR, mcur - ip * MR));
        pack_a_panel<T, MR>(P.ap + ip * MR * kc, g.a, g.lda, g.trans_a, i3 + ip * MR, p0, mv, kc);
      }
      if (P.nt > 1) {
#pragma omp barrier
      }
      for (index_t jp0 = jp_begin; jp0 < jp_end; jp0 += P.nb_max) {
        const index_t jp1 = std::min(jp_end, jp0 + P.nb_max);
        // Always packed, even for a few rows of A: reading B in place at a large
        // power-of-two row stride thrashes the L1/L2 sets.
        for (index_t jp = jp0; jp < jp1; ++jp) {
          const int nv = int(std::min<index_t>(NR, N - jp * NR));
          pack_b_panel<T, NR>(bp + (jp - jp0) * NR * kc, g.b, g.ldb, g.trans_b, p0, jp * NR, nv, kc);
        }
        for (index_t ip = ip_begin; ip < ip_end; ++ip) {
          const index_t i = i3 + ip * MR;
          const int mv = int(std::min<index_t>(MR, i3 + mcur - i));
          const T* a_panel = P.ap + ip * MR * kc;
          for (index_t jp = jp0; jp < jp1; ++jp) {
            const index_t j = jp * NR;
            const int nv = int(std::min<index_t>(NR, N - j));
            U::run(kc, a_panel, bp + (jp - jp0) * NR * kc, NR, g.c + i * g.ldc + j, g.ldc, g.alpha, beta, mv, nv);
            if (last && P.epi) epilogue(g, i, mv, j, nv);
          }
        }
      }
      // The A block is overwritten next: wait until every thread is done with it.
      if (P.nt > 1) {
#pragma omp barrier
      }
    }
  }
}

template <class T, class U>
void gemm_driver(const GemmArgs<T>& g) {
  constexpr int MR = U::MR, NR = U::NR;
  const index_t M = g.m, N = g.n, K = g.k;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_only(g);

  Plan<T> P;
  P.g = &g;
  // K split: as few blocks as KC allows, balanced; depends on K only.
  P.kc_nom = ceil_div(K, ceil_div(K, U::KC));
  const index_t m_panels_total = ceil_div(M, MR);
  P.n_panels = ceil_div(N, NR);
  P.mc = std::min<index_t>((U::MC / MR) * MR, m_panels_total * MR);  // rows per A block (multiple of MR)
  const index_t m_panels_blk = ceil_div(P.mc, MR);
  P.nb_max = std::max<index_t>(1, U::NC / NR);  // B panels per L2 block

  // Threads: by work, then by available parallelism.
  const double flops = 2.0 * double(M) * double(N) * double(K);
  int nt = int(std::max(1.0, std::min(double(g.num_threads), flops / 2.0e6 + 1.0)));
  nt = int(std::min<index_t>(nt, m_panels_blk * P.n_panels));
  // A tm x tn grid of threads over (M panels of an A block) x (N panels).  Prefer
  // splitting N (each thread then packs only its own part of B); split M when N has
  // too few panels to balance.
  P.tm = 1;
  P.tn = 1;
  index_t best = -1;
  for (int d = 1; d <= nt; ++d) {
    if (nt % d) continue;
    const int cn = d, cm = nt / d;
    if (cn > P.n_panels || cm > m_panels_blk) continue;
    const index_t cost = ceil_div(P.n_panels, cn) * ceil_div(m_panels_blk, cm);
    if (best < 0 || cost <= best) { best = cost; P.tn = cn; P.tm = cm; }
  }
  P.nt = P.tm * P.tn;

  static thread_local Scratch a_scratch;
  P.ap = a_scratch.get<T>(size_t(P.mc) * size_t(P.kc_nom));
  if (!P.ap) throw std::bad_alloc();
  P.epi = has_epilogue_work(g);
  bool alloc_failed = false;
  P.alloc_failed = &alloc_failed;

  if (P.nt == 1) {
    gemm_thread<T, U>(P, 0);
  } else {
#pragma omp parallel num_threads(P.nt)
    {
      // The runtime may grant fewer threads (nesting, thread limits): re-split the work
      // over the team actually running.  The split never changes the arithmetic.
      const int team = omp_get_num_threads();
      if (team == P.nt) {
        gemm_thread<T, U>(P, omp_get_thread_num());
      } else {
        Plan<T> Q = P;
        Q.nt = team;
        Q.tm = 1;
        Q.tn = team;
        gemm_thread<T, U>(Q, omp_get_thread_num());
      }
    }
  }
  if (alloc_failed) throw std::bad_alloc();
}

void sgemm(const GemmArgs<float>& g) { gemm_driver<float, UkrF32>(g); }
void dgemm(const GemmArgs<double>& g) { gemm_driver<double, UkrF64>(g); }

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
