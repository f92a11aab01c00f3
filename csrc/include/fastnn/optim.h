// Fused optimizer update kernel interface (filled in by csrc/optim/).
#pragma once
#include "fastnn/common.h"

namespace fastnn {

struct OptimKernels {
  int placeholder = 0;
};

}  // namespace fastnn

FASTNN_FOR_EACH_ISA_DECL(void fill_optim(OptimKernels& t))
