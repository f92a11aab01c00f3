// PLACEHOLDER (to be replaced): fused optimizer updates.
#include "fastnn/optim.h"

FASTNN_ISA_BEGIN
void fill_optim(OptimKernels&) {}
FASTNN_ISA_END
