// The kernel table: one per ISA, filled once; the active one is chosen at import from
// cpuid + xgetbv, or forced with FASTNN_ARCH=generic|avx2|avx512.
#pragma once
#include <string>

#include "fastnn/act.h"
#include "fastnn/common.h"
#include "fastnn/gemm.h"
#include "fastnn/optim.h"

namespace fastnn {

struct KernelTable {
  Isa isa = Isa::generic;
  GemmKernels gemm;
  ActKernels act;
  OptimKernels optim;
};

// CPU support (cpuid + xgetbv: the OS must also save the wider registers).
bool cpu_supports(Isa isa);
Isa best_isa();

// The active table.  Thread-safe after the first call (std::call_once).
const KernelTable& kernels();
// Table of a given ISA (for tests comparing paths); throws std::invalid_argument when the
// CPU or the build lacks it.
const KernelTable& kernels_for(Isa isa);
// Switch the active table (FASTNN_ARCH at import, fastnn._core.set_arch in tests).
void set_active_isa(Isa isa);
Isa parse_isa(const std::string& name);  // throws std::invalid_argument
bool isa_compiled(Isa isa);

// Threads: default honours OMP_NUM_THREADS, else the number of usable cores.
int max_threads();
void set_max_threads(int n);
// Threads to use for `work` units of roughly one nanosecond each (never more than
// team_threads()).
int threads_for(double work_ns);
// Threads for a team now: max_threads(), or half of it for a while after a team had to wait
// for a member that another process kept off its core (see note_team_wait).  Thread counts
// never change results, only speed.
int team_threads();
// After a parallel region: it took region_s seconds, of which its first thread's own share
// took own_s.  Much longer than the share (by kContentionLateS) in kContentionRegions
// regions in a row, which lost kContentionLostS or more in all, means members start or
// finish late because the cores are oversubscribed: teams then use half the threads for
// kContentionBackoffS, after which full teams are tried again.
void note_team_wait(double region_s, double own_s);
// How many contention backoffs have started since import (benchmarks re-time what one disturbed).
long long contention_backoffs();
constexpr double kContentionLateS = 1e-3, kContentionBackoffS = 0.2, kContentionLostS = 0.01;
constexpr int kContentionRegions = 3;

}  // namespace fastnn
