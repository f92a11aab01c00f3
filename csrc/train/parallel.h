// Splitting engine loops across threads.  Every split used here gives bitwise the same
// result at any thread count: elementwise loops (each output from its own inputs) and
// column blocks of column reductions (each column reduced serially over rows).
#pragma once
#include <omp.h>

#include <algorithm>

#include "fastnn/dispatch.h"

namespace fastnn {
namespace train {

// f(begin, end) over [0, n) in contiguous shares; `ns_per_item` sizes the team.
template <class F>
void parallel_range(index_t n, double ns_per_item, F&& f, index_t grain = 16) {
  if (n <= 0) return;
  const int nt = threads_for(double(n) * ns_per_item);
  if (nt <= 1) {
    f(index_t(0), n);
    return;
  }
  const double t0 = omp_get_wtime();
  double own = 0;
#pragma omp parallel num_threads(nt)
  {
    const index_t t = omp_get_thread_num(), T = omp_get_num_threads();
    const double s0 = omp_get_wtime();
    // Shares rounded to `grain` items (vector loops keep full lanes).
    const index_t chunk = ((n + T - 1) / T + grain - 1) / grain * grain;
    const index_t b = std::min(n, t * chunk), e = std::min(n, b + chunk);
    if (b < e) f(b, e);
    if (t == 0) own = omp_get_wtime() - s0;
  }
  note_team_wait(omp_get_wtime() - t0, own);
}

}  // namespace train
}  // namespace fastnn
