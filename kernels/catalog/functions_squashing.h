// S-shaped activations: bounded on both sides (sigmoid, tanh and their relatives).
#ifndef ACTSERVE_KERNELS_CATALOG_FUNCTIONS_SQUASHING_H_
#define ACTSERVE_KERNELS_CATALOG_FUNCTIONS_SQUASHING_H_

#include "kernels/catalog/definition.h"

namespace actserve::fn {
using namespace ::actserve::math;  // NOLINT(build/namespaces): the definitions' vocabulary

struct Logistic : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "sigmoid",
      .aliases = {"logistic"},
      .formula = "1/(1+exp(-x))",
      .derivative = "y*(1-y)",
      .output_range = "(0, 1)",
      .kink_convention = "none",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (1), (2); torch.sigmoid",
      .properties = {.monotonic = true, .smooth = true, .saturation = Saturation::kTwoSidedSoft},
      .backward_from_output = true};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Sigmoid(x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return SigmoidDerivative(x);
  }
  // From y = sigmoid(x), as PyTorch's backward: near y = 1 it keeps y's absolute accuracy only.
  template <class V>
  ACTSERVE_HD static V DerivativeFromOutput(const V& y, const Args<V>&) {
    return y * (V(1) - y);
  }
};

struct HyperbolicTangent : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "tanh",
      .formula = "(exp(x)-exp(-x))/(exp(x)+exp(-x))",
      .derivative = "1-y^2",
      .output_range = "(-1, 1)",
      .kink_convention = "none",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (3), (4); torch.tanh",
      .properties = {.monotonic = true,
                     .smooth = true,
                     .zero_centered = true,
                     .saturation = Saturation::kTwoSidedSoft,
                     .identity_near_zero = true},
      .backward_from_output = true};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Tanh(x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Sech2(x);
  }
  // From y = tanh(x), as PyTorch's backward: near |y| = 1 it keeps y's absolute accuracy only.
  template <class V>
  ACTSERVE_HD static V DerivativeFromOutput(const V& y, const Args<V>&) {
    return (V(1) - y) * (V(1) + y);
  }
};

struct Arctan : Elementwise {
  static constexpr ActivationInfo kInfo = {.name = "arctan",
                                           .formula = "atan(x)",
                                           .derivative = "1/(1+x^2)",
                                           .output_range = "(-pi/2, pi/2)",
                                           .kink_convention = "none",
                                           .source = "atan as a squashing function; torch.atan",
                                           .properties = {.monotonic = true,
                                                          .smooth = true,
                                                          .zero_centered = true,
                                                          .saturation = Saturation::kTwoSidedSoft,
                                                          .identity_near_zero = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Atan(x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    // For |x| > 1 divide by x^2 first: 1/(1+x^2) = r^2/(1+r^2) with r = 1/x keeps x^2 finite.
    V r = V(1) / x;
    return Select(Abs(x) > V(1), r * r / (V(1) + r * r), V(1) / (V(1) + x * x));
  }
};

struct Softsign : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "softsign",
      .formula = "x/(1+|x|)",
      .derivative = "1/(1+|x|)^2",
      .output_range = "(-1, 1)",
      .kink_convention = "none",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (20), (21); torch.nn.Softsign",
      .properties = {.monotonic = true,
                     .smooth = true,
                     .zero_centered = true,
                     .saturation = Saturation::kTwoSidedSoft,
                     .identity_near_zero = true,
                     .cost = Cost::kArithmetic}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(IsInf(x), Select(x > V(0), V(1), V(-1)), x / (V(1) + Abs(x)));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V d = V(1) + Abs(x);
    return V(1) / (d * d);
  }
};

struct SymmetricalSigmoid : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "symmetrical_sigmoid",
      .formula = "tanh(x/2) = (1-exp(-x))/(1+exp(-x))",
      .derivative = "(1-y^2)/2",
      .output_range = "(-1, 1)",
      .kink_convention = "none",
      .source = "the bipolar sigmoid (1-exp(-x))/(1+exp(-x)) = tanh(x/2)",
      .properties = {.monotonic = true,
                     .smooth = true,
                     .zero_centered = true,
                     .saturation = Saturation::kTwoSidedSoft}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Tanh(V(0.5) * x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return V(0.5) * Sech2(V(0.5) * x);
  }
};

struct LecunTanh : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "lecun_tanh",
      .formula = "A*tanh(B*x)",
      .derivative = "A*B*(1-tanh(B*x)^2)",
      .output_range = "(-A, A)",
      .kink_convention = "none",
      .source = "LeCun et al., Efficient BackProp (1998): A = 1.7159, B = 2/3",
      .params = {{.name = "A", .default_value = 1.7159}, {.name = "B", .default_value = 2.0 / 3.0}},
      .properties = {.monotonic = true,
                     .smooth = true,
                     .zero_centered = true,
                     .saturation = Saturation::kTwoSidedSoft}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return a.p[0] * Tanh(MulZ(a.p[1], x));  // B = 0: 0, also at +-inf
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return a.p[0] * a.p[1] * Sech2(MulZ(a.p[1], x));
  }
};

struct HardSigmoid : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "hard_sigmoid",
      .formula = "clip(s*x+o, 0, 1)",
      .derivative = "s for -o/s < x < (1-o)/s, else 0",
      .output_range = "[0, 1]",
      .kink_convention = "f' = 0 at both edges x = -o/s and x = (1-o)/s",
      .source = "Keras hard_sigmoid (s = 0.2; PyTorch's hardsigmoid is s = 1/6)",
      .params = {{.name = "s", .default_value = 0.2, .min = 0, .min_exclusive = true},
                 {.name = "o", .default_value = 0.5}},
      .properties = {.monotonic = true,
                     .saturation = Saturation::kTwoSidedHard,
                     .sparse = true,
                     .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    V lo = -a.p[1] / a.p[0], hi = (V(1) - a.p[1]) / a.p[0];
    return Select(x <= lo, V(0), Select(x >= hi, V(1), Fma(a.p[0], x, a.p[1])));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    V lo = -a.p[1] / a.p[0], hi = (V(1) - a.p[1]) / a.p[0];
    return Select((x > lo) & (x < hi), a.p[0], V(0));
  }
};

struct HardTanh : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "hard_tanh",
      .formula = "clip(x, lo, hi)",
      .derivative = "1 for lo < x < hi, else 0",
      .output_range = "[lo, hi]",
      .kink_convention = "f' = 0 at x = lo and x = hi",
      .source = "torch.nn.Hardtanh",
      .params = {{.name = "lo", .default_value = -1}, {.name = "hi", .default_value = 1}},
      .properties = {.monotonic = true,
                     .zero_centered = true,
                     .saturation = Saturation::kTwoSidedHard,
                     .identity_near_zero = true,
                     .cost = Cost::kSelect},
      .order = {0, 1}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x < a.p[0], a.p[0], Select(x > a.p[1], a.p[1], x));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select((x > a.p[0]) & (x < a.p[1]), V(1), V(0));
  }
};

struct ComplementaryLogLog : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "complementary_log_log",
      .formula = "1-exp(-exp(x))",
      .derivative = "exp(x-exp(x))",
      .output_range = "(0, 1)",
      .kink_convention = "none",
      .source = "the complementary log-log link of generalised linear models",
      .properties = {.monotonic = true, .smooth = true, .saturation = Saturation::kTwoSidedSoft}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return -Expm1(-Exp(x));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V e = Exp(x);
    return MulZ(Exp(-e), e);
  }
};

struct LogSigmoid : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "log_sigmoid",
      .formula = "-softplus(-x) = log(1/(1+exp(-x)))",
      .derivative = "sigmoid(-x)",
      .output_range = "(-inf, 0)",
      .kink_convention = "none",
      .source = "torch.nn.LogSigmoid, oneDNN logsigmoid, jax.nn.log_sigmoid",
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .monotonic_derivative = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return -LogOnePlusExp(-x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Sigmoid(-x);
  }
};

}  // namespace actserve::fn

#endif  // ACTSERVE_KERNELS_CATALOG_FUNCTIONS_SQUASHING_H_
