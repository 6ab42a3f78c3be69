// Metadata that describes one activation function to clients: its formula, parameters,
// output range and the properties the reference survey judges activations by.
//
// Every value here is a compile-time constant that lives in the function's definition
// (catalog/functions_*.h); the listing RPC, the docs table and the tests read it from there.
#ifndef ACTSERVE_KERNELS_CATALOG_ACTIVATION_INFO_H_
#define ACTSERVE_KERNELS_CATALOG_ACTIVATION_INFO_H_

#include <limits>

namespace actserve {

inline constexpr int kMaxParams = 4;
inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// One named, overridable parameter. A value must be finite and within [min, max] (with the
// bound excluded where *_exclusive is set); an integer parameter must be a whole number.
struct ParamSpec {
  const char* name = nullptr;
  double default_value = 0;
  double min = -kUnbounded;
  double max = kUnbounded;
  bool min_exclusive = false;
  bool max_exclusive = false;
  // Learnable parameters may be given per channel and get a gradient in backward.
  bool learnable = false;
  bool integer = false;
};

// How an activation maps its input tensor to its output tensor.
enum class Layout {
  kElementwise,  // y has x's shape, y[i] depends on x[i] only.
  kLastAxis,     // each row along the last axis maps to one output row (softmax, maxout, glu).
};

// Where the noise of a stochastic function comes from (see math/philox.h).
enum class Noise {
  kNone,
  kUniformWhenTraining,  // U[0,1) per element in training mode, the constant 0.5 otherwise.
  kStandardNormal,       // N(0,1) per element, in both modes.
};

enum class Saturation {
  kNone,
  kOneSidedSoft,  // approaches a constant on one side only, asymptotically
  kOneSidedHard,  // exactly constant (zero gradient) on one side
  kTwoSidedSoft,
  kTwoSidedHard,
};

// What evaluating the function costs per element, beyond reading x and writing y.
enum class Cost {
  kSelect,          // comparisons, selects and multiply-adds: memory-bound on large tensors
  kArithmetic,      // also a division or square root
  kTranscendental,  // exp, log, tanh, erf, trig or random numbers
};

struct Properties {
  bool monotonic = false;
  bool smooth = false;         // continuously differentiable everywhere
  bool zero_centered = false;  // output takes both signs, f(0) = 0
  Saturation saturation = Saturation::kNone;
  bool sparse = false;              // maps a whole interval of inputs to exactly 0
  bool identity_near_zero = false;  // f(0) = 0 and f'(0) = 1
  bool monotonic_derivative = false;
  bool gradient_flows = true;  // false only where f' = 0 everywhere (binary_step)
  Cost cost = Cost::kTranscendental;
};

struct ActivationInfo {
  const char* name;
  const char* aliases[2];  // nullptr-terminated
  const char* formula;     // plain text, in x and the parameter names
  const char* derivative;
  const char* output_range;
  const char* kink_convention;  // the derivative chosen at points where f is not differentiable
  const char* source;           // which reference documents or frameworks define it
  ParamSpec params[kMaxParams];
  Properties properties;
  Layout layout = Layout::kElementwise;
  Noise noise = Noise::kNone;
  // For kLastAxis functions that change the last axis: what its length must satisfy.
  const char* last_axis_rule = nullptr;
  // If set, params[order[0]] must be <= params[order[1]] (hard_tanh lo/hi, rrelu lower/upper).
  int order[2] = {-1, -1};
  // The derivative is a function of the output: Backward may be given the forward's output y in
  // place of x (CallSpec::from_output), as PyTorch's backward is, and then computes no forward.
  // Such functions define BackwardFromOutput (last-axis, functions_rows.h) or
  // DerivativeFromOutput (element-wise, definition.h); they have no learnable parameter and no
  // noise (catalog_test).
  bool backward_from_output = false;

  constexpr int num_params() const {
    int n = 0;
    while (n < kMaxParams && params[n].name != nullptr) ++n;
    return n;
  }
};

// Index of the learnable parameter of `info`, or -1 if it has none. (The catalog has at most
// one learnable parameter per function; catalog_test checks that.)
constexpr int LearnableParam(const ActivationInfo& info) {
  for (int k = 0; k < info.num_params(); ++k) {
    if (info.params[k].learnable) return k;
  }
  return -1;
}

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CATALOG_ACTIVATION_INFO_H_
