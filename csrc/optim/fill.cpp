// The optimizer part of the kernel table of one ISA.
#include "optim/kernels.h"

FASTNN_ISA_BEGIN
void fill_optim(OptimKernels& t) {
  fill_sgd(t);
  fill_adam(t);
  fill_rmsprop(t);
  fill_adagrad(t);
  fill_adadelta(t);
  fill_adamax(t);
  fill_nadam(t);
  fill_clip(t);
  fill_colsum(t);
}
FASTNN_ISA_END
