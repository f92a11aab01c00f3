// The kernel tables (one per compiled ISA, filled once) and the thread settings.
#include "fastnn/dispatch.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

namespace fastnn {
namespace {

KernelTable g_tables[kNumIsa];
std::once_flag g_fill_once;
std::atomic<const KernelTable*> g_active{nullptr};
std::atomic<int> g_threads{0};

template <class Ns>
void fill_one(KernelTable& t, Isa isa) {
  t.isa = isa;
  Ns::gemm(t.gemm);
  Ns::act(t.act);
  Ns::optim(t.optim);
}

struct GenericNs {
  static void gemm(GemmKernels& t) { generic::fill_gemm(t); }
  static void act(ActKernels& t) { generic::fill_act(t); }
  static void optim(OptimKernels& t) { generic::fill_optim(t); }
};
#if defined(FASTNN_X86)
struct Avx2Ns {
  static void gemm(GemmKernels& t) { avx2::fill_gemm(t); }
  static void act(ActKernels& t) { avx2::fill_act(t); }
  static void optim(OptimKernels& t) { avx2::fill_optim(t); }
};
struct Avx512Ns {
  static void gemm(GemmKernels& t) { avx512::fill_gemm(t); }
  static void act(ActKernels& t) { avx512::fill_act(t); }
  static void optim(OptimKernels& t) { avx512::fill_optim(t); }
};
#endif

void fill_tables() {
  // Filling only stores function pointers: it executes no ISA-specific instruction, so
  // every compiled table is filled; cpu_supports() guards their use.
  fill_one<GenericNs>(g_tables[0], Isa::generic);
#if defined(FASTNN_X86)
  fill_one<Avx2Ns>(g_tables[1], Isa::avx2);
  fill_one<Avx512Ns>(g_tables[2], Isa::avx512);
#endif
  Isa chosen = best_isa();
  if (const char* env = std::getenv("FASTNN_ARCH")) {
    std::string s(env);
    if (!s.empty() && s != "auto") {
      chosen = parse_isa(s);  // throws on unknown name
      if (!isa_compiled(chosen) || !cpu_supports(chosen))
        throw std::invalid_argument("FASTNN_ARCH=" + s + ": this CPU (or this build) does not support the " + s +
                                    " kernels; available: " + (cpu_supports(Isa::avx512) ? "generic, avx2, avx512"
                                                               : cpu_supports(Isa::avx2) ? "generic, avx2" : "generic"));
    }
  }
  g_active.store(&g_tables[static_cast<int>(chosen)]);
}

}  // namespace

bool isa_compiled(Isa isa) {
#if defined(FASTNN_X86)
  (void)isa;
  return true;
#else
  return isa == Isa::generic;
#endif
}

Isa parse_isa(const std::string& name) {
  if (name == "generic") return Isa::generic;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw std::invalid_argument("unknown ISA '" + name + "': expected one of generic, avx2, avx512");
}

const KernelTable& kernels() {
  std::call_once(g_fill_once, fill_tables);
  return *g_active.load(std::memory_order_acquire);
}

const KernelTable& kernels_for(Isa isa) {
  kernels();
  if (!isa_compiled(isa) || !cpu_supports(isa))
    throw std::invalid_argument(std::string("the ") + isa_name(isa) + " kernels are not available on this CPU/build");
  return g_tables[static_cast<int>(isa)];
}

void set_active_isa(Isa isa) { g_active.store(&kernels_for(isa), std::memory_order_release); }

int max_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
  // OMP_NUM_THREADS is honoured by omp_get_max_threads(); otherwise it is the core count.
  n = omp_get_max_threads();
  if (n < 1) n = 1;
  int expected = 0;
  g_threads.compare_exchange_strong(expected, n);
  return g_threads.load();
}

void set_max_threads(int n) {
  if (n < 1) throw std::invalid_argument("number of threads must be >= 1");
  g_threads.store(n);
}

namespace {
std::atomic<long long> g_backoff_until_ns{0};  // steady clock; 0: no backoff
std::atomic<long long> g_backoffs{0};          // backoffs started since import
long long steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

int team_threads() {
  const int mx = max_threads();
  long long until = g_backoff_until_ns.load(std::memory_order_relaxed);
  if (mx <= 1 || until == 0) return mx;  // no clock read unless a backoff is on
  if (until > steady_ns()) return std::max(1, mx / 2);
  // Over: cleared, so that later calls (several per training step) skip the clock again.
  g_backoff_until_ns.compare_exchange_strong(until, 0, std::memory_order_relaxed);
  return mx;
}

void note_team_wait(double region_s, double own_s) {
  // One late region can be a worker waking from sleep (after an idle spell, or after a
  // backoff); kContentionRegions late regions in a row are a busy core.
  // The streak must also have lost kContentionLostS in all: a virtual CPU paused by its
  // host for a few ms delays a few short regions by a ms or two each, and halving the teams
  // for kContentionBackoffS would then cost far more than the pause did.
  static std::atomic<int> late_in_a_row{0};
  static std::atomic<long long> lost_ns{0};
  if (region_s <= 2.0 * own_s + kContentionLateS) {
    late_in_a_row.store(0, std::memory_order_relaxed);
    lost_ns.store(0, std::memory_order_relaxed);
    return;
  }
  const long long lost = lost_ns.fetch_add(static_cast<long long>((region_s - own_s) * 1e9), std::memory_order_relaxed) +
                         static_cast<long long>((region_s - own_s) * 1e9);
  if (late_in_a_row.fetch_add(1, std::memory_order_relaxed) + 1 >= kContentionRegions &&
      lost >= static_cast<long long>(kContentionLostS * 1e9)) {
    late_in_a_row.store(0, std::memory_order_relaxed);
    lost_ns.store(0, std::memory_order_relaxed);
    g_backoff_until_ns.store(steady_ns() + static_cast<long long>(kContentionBackoffS * 1e9), std::memory_order_relaxed);
    g_backoffs.fetch_add(1, std::memory_order_relaxed);
  }
}

long long contention_backoffs() { return g_backoffs.load(std::memory_order_relaxed); }

int threads_for(double work_ns) {
  if (omp_in_parallel()) return 1;  // already inside a team (e.g. the engine's row chunks)
  // An OpenMP fork/join costs a few microseconds: give each thread >= ~20 us of work.
  const double per_thread = 20000.0;
  int t = static_cast<int>(work_ns / per_thread);
  const int mx = team_threads();
  if (t < 1) t = 1;
  if (t > mx) t = mx;
  return t;
}

}  // namespace fastnn
