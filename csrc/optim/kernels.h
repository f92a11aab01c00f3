// Private to csrc/optim: each file fills its part of the optimizer table.
#pragma once
#include "fastnn/optim.h"

FASTNN_ISA_BEGIN
void fill_sgd(OptimKernels& t);
void fill_adam(OptimKernels& t);
void fill_rmsprop(OptimKernels& t);
void fill_adagrad(OptimKernels& t);
void fill_adadelta(OptimKernels& t);
void fill_adamax(OptimKernels& t);
void fill_nadam(OptimKernels& t);
void fill_clip(OptimKernels& t);
void fill_colsum(OptimKernels& t);
FASTNN_ISA_END
