// Plain descriptions of a network, its parameters, its losses and its optimizer, filled by
// the Python model (fastnn/_engine.py) and read by the native engine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fastnn/common.h"
#include "fastnn/loss.h"

namespace fastnn {
namespace train {

// Activation codes: fastnn::ActId values, plus the two row-wise ones.
constexpr int kActSoftmax = 100;
constexpr int kActLogSoftmax = 101;

enum NodeKind : int {
  NODE_DENSE = 0,   // y = act(x W + b); W (in, out) row-major at w_off, b at b_off
  NODE_ACTIVATION,  // y = act(x)
  NODE_DROPOUT,     // inverted dropout (training only): y = x * mask / (1 - rate)
  NODE_NOISE,       // y = x + stddev * N(0, 1) (training only)
  NODE_BATCHNORM,   // per feature: batch statistics (training), running statistics (inference)
  NODE_LAYERNORM,   // per sample over features
  NODE_PRELU,       // y = x (x > 0), a_j x otherwise; a at w_off
  NODE_ADD,         // y = sum of the inputs (same width)
  NODE_CONCAT,      // y = [x_1, x_2, ...] along features
  NODE_PYTHON,      // a layer written in Python (forward/backward called with the GIL)
  NODE_COUNT
};

struct NodeSpec {
  int kind = NODE_DENSE;
  std::vector<int> inputs;   // tensor ids (model inputs are 0 .. n_inputs-1; node i makes n_inputs + i)
  index_t width = 0;         // output features
  int act = 0;               // DENSE / ACTIVATION
  double alpha = 0;          // activation parameter (leaky_relu, elu)
  bool use_bias = true;
  bool trainable = true;
  index_t w_off = -1, b_off = -1;  // parameter offsets (DENSE: W, b; norms: gamma, beta; PRELU: a)
  index_t s_off = -1;              // state offset (BATCHNORM: running mean, then running var)
  double rate = 0, stddev = 0, eps = 1e-3, momentum = 0.99;
  std::uint64_t seed = 0;
  int py_index = -1;         // PYTHON: index into the engine's Python layer list
};

// One parameter tensor of the flat buffer (the unit of clipnorm, regularization, diagnostics).
struct ParamSpec {
  index_t off = 0, size = 0;
  bool trainable = true;
  double l1 = 0, l2 = 0;
  int node = -1;             // owning node
};

// One model output and its loss.
struct OutputSpec {
  int tensor = 0;            // tensor id
  LossSpec loss;
  double weight = 1.0;       // loss weight (multi-task)
  bool sum = false;          // reduction "sum": a batch's loss is the weighted sum over its rows (else their mean)
  // When the producing node ends in softmax/sigmoid and the loss is the matching
  // cross-entropy on probabilities, the engine computes the loss from the pre-activation
  // (from_logits) in one stable kernel: fuse_logits is set by the engine, not by Python.
};

enum OptKind : int { OPT_SGD = 0, OPT_RMSPROP, OPT_ADAGRAD, OPT_ADADELTA, OPT_ADAM, OPT_ADAMAX, OPT_NADAM, OPT_COUNT };

struct OptSpec {
  int kind = OPT_ADAM;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-7, weight_decay = 0;
  double momentum = 0, dampening = 0, rho = 0.9, initial_accumulator_value = 0.1, lr_decay = 0;
  double momentum_decay = 4e-3;
  bool nesterov = false, amsgrad = false, centered = false, decoupled_weight_decay = false;
  double clipvalue = 0, clipnorm = 0, global_clipnorm = 0;  // 0: off
};

// Number of state slots (flat buffers of the parameter size) each optimizer keeps.
int opt_state_slots(const OptSpec& o);

}  // namespace train
}  // namespace fastnn
