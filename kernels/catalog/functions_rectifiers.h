// ReLU-shaped activations: identity-like for x > 0, something cheaper or bounded below for x < 0.
#ifndef ACTSERVE_KERNELS_CATALOG_FUNCTIONS_RECTIFIERS_H_
#define ACTSERVE_KERNELS_CATALOG_FUNCTIONS_RECTIFIERS_H_

#include "kernels/catalog/definition.h"

namespace actserve::fn {
using namespace ::actserve::math;  // NOLINT(build/namespaces): the definitions' vocabulary

// Shared by leaky_relu, prelu and rrelu: x for x >= 0, slope * x below (0 at -inf for slope 0).
template <class V>
ACTSERVE_HD V LeakyForward(const V& x, const V& slope) {
  return Select(x >= V(0), x, MulZ(slope, x));
}
template <class V>
ACTSERVE_HD V LeakyDerivative(const V& x, const V& slope) {
  return Select(x > V(0), V(1), slope);
}

inline constexpr Properties kLeakyProperties = {
    .monotonic = true, .monotonic_derivative = true, .cost = Cost::kSelect};

struct Relu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "relu",
      .formula = "max(0, x)",
      .derivative = "1 if x > 0 else 0",
      .output_range = "[0, inf)",
      .kink_convention = "f'(0) = 0 (PyTorch)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (5); torch.relu",
      .properties = {.monotonic = true,
                     .saturation = Saturation::kOneSidedHard,
                     .sparse = true,
                     .monotonic_derivative = true,
                     .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(x > V(0), x, V(0));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Select(x > V(0), V(1), V(0));
  }
};

struct LeakyRelu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "leaky_relu",
      .formula = "x if x >= 0 else a*x",
      .derivative = "1 if x > 0 else a",
      .output_range = "(-inf, inf)",
      .kink_convention = "f'(0) = a (PyTorch)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (7); torch.nn.LeakyReLU",
      .params = {{.name = "a", .default_value = 0.01}},
      .properties = kLeakyProperties};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return LeakyForward(x, a.p[0]);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return LeakyDerivative(x, a.p[0]);
  }
};

struct Prelu {
  static constexpr ActivationInfo kInfo = {
      .name = "prelu",
      .formula = "x if x >= 0 else a*x",
      .derivative = "1 if x > 0 else a",
      .output_range = "(-inf, inf)",
      .kink_convention = "f'(0) = a (PyTorch); df/da = min(x, 0)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (8); torch.nn.PReLU",
      .params = {{.name = "a", .default_value = 0.25, .learnable = true}},
      .properties = kLeakyProperties};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return LeakyForward(x, a.p[0]);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return LeakyDerivative(x, a.p[0]);
  }
  template <class V>
  ACTSERVE_HD static V ParamDerivative(const V& x, const Args<V>&) {
    return Select(x > V(0), V(0), x);
  }
};

struct Rrelu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "rrelu",
      .formula =
          "x if x >= 0 else a*x; a ~ U(lower, upper) per element in "
          "training, a = (lower+upper)/2 otherwise",
      .derivative = "1 if x > 0 else a (the same a as forward)",
      .output_range = "(-inf, inf)",
      .kink_convention = "f'(0) = a (PyTorch)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (9); torch.nn.RReLU",
      .params = {{.name = "lower", .default_value = 1.0 / 8, .min = 0},
                 {.name = "upper", .default_value = 1.0 / 3, .min = 0}},
      .properties = kLeakyProperties,
      .noise = Noise::kUniformWhenTraining,
      .order = {0, 1}};
  template <class V>
  ACTSERVE_HD static V Slope(const Args<V>& a) {
    return Fma(a.p[1] - a.p[0], a.noise, a.p[0]);
  }
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return LeakyForward(x, Slope(a));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return LeakyDerivative(x, Slope(a));
  }
};

struct NoisyRelu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "noisy_relu",
      .formula = "x + sigma*n if x >= 0 else 0, n ~ N(0, 1) per element",
      .derivative = "1 if x >= 0 else 0",
      .output_range = "(-inf, inf)",
      .kink_convention = "f'(0) = 1; the output may be negative for x >= 0 (survey eq. 6)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (6)",
      .params = {{.name = "sigma", .default_value = 1, .min = 0}},
      .properties = {.saturation = Saturation::kOneSidedHard, .sparse = true},
      .noise = Noise::kStandardNormal};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x >= V(0), Fma(a.p[0], a.noise, x), V(0));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Select(x >= V(0), V(1), V(0));
  }
};

struct Relu6 : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "relu6",
      .formula = "min(max(0, x), 6)",
      .derivative = "1 if 0 < x < 6 else 0",
      .output_range = "[0, 6]",
      .kink_convention = "f' = 0 at x = 0 and x = 6",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (10); torch.nn.ReLU6",
      .properties = {.monotonic = true,
                     .saturation = Saturation::kTwoSidedHard,
                     .sparse = true,
                     .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(x > V(0), Select(x < V(6), x, V(6)), V(0));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Select((x > V(0)) & (x < V(6)), V(1), V(0));
  }
};

struct Elu {
  static constexpr ActivationInfo kInfo = {
      .name = "elu",
      .formula = "x if x > 0 else a*(exp(x)-1)",
      .derivative = "1 if x > 0 else y+a",
      .output_range = "(-a, inf)",
      .kink_convention = "f'(0) = a (the x <= 0 branch)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (14), (15); torch.nn.ELU",
      .params = {{.name = "a", .default_value = 1, .learnable = true}},
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .identity_near_zero = true,
                     .monotonic_derivative = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x > V(0), x, a.p[0] * Expm1NonPositive(x));  // lanes x > 0 discarded
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select(x > V(0), V(1), a.p[0] * ExpNonPositive(x));
  }
  template <class V>
  ACTSERVE_HD static V ParamDerivative(const V& x, const Args<V>&) {
    return Select(x > V(0), V(0), Expm1NonPositive(x));
  }
};

struct Selu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "selu",
      .formula = "lambda*x if x > 0 else lambda*a*(exp(x)-1)",
      .derivative = "lambda if x > 0 else lambda*a*exp(x)",
      .output_range = "(-lambda*a, inf)",
      .kink_convention = "f'(0) = lambda*a (the x <= 0 branch)",
      .source =
          "Klambauer et al., Self-Normalizing Neural Networks (2017); constants to full precision, "
          "as torch.nn.SELU",
      .params = {{.name = "lambda", .default_value = 1.0507009873554804934193349852946},
                 {.name = "a", .default_value = 1.6732632423543772848170429916717}},
      .properties = {
          .monotonic = true, .zero_centered = true, .saturation = Saturation::kOneSidedSoft}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return MulZ(a.p[0],
                Select(x > V(0), x, a.p[1] * Expm1NonPositive(x)));  // lambda = 0: 0 at +inf
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return a.p[0] * Select(x > V(0), V(1), a.p[1] * ExpNonPositive(x));
  }
};

struct Celu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "celu",
      .formula = "max(0, x) + min(0, a*(exp(x/a)-1))",
      .derivative = "1 if x > 0 else exp(x/a)",
      .output_range = "(-a, inf)",
      .kink_convention = "none (f'(0) = 1 from both sides)",
      .source = "torch.nn.CELU, jax.nn.celu",
      .params = {{.name = "a", .default_value = 1, .min = 0, .min_exclusive = true}},
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .identity_near_zero = true,
                     .monotonic_derivative = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x > V(0), x, a.p[0] * Expm1(x / a.p[0]));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select(x > V(0), V(1), Exp(x / a.p[0]));
  }
};

struct Trelu {
  static constexpr ActivationInfo kInfo = {
      .name = "trelu",
      .formula = "x if x >= 0 else a*tanh(a*x)",
      .derivative = "1 if x >= 0 else a^2*(1-tanh(a*x)^2)",
      .output_range = "(-|a|, inf)",
      .kink_convention =
          "f'(0) = 1; df/da = tanh(a*x) + a*x*(1-tanh(a*x)^2) for x < 0, 0 otherwise",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (16), (17) (f is implied by its derivative)",
      .params = {{.name = "a", .default_value = 1, .learnable = true}},
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .identity_near_zero = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x >= V(0), x, a.p[0] * Tanh(MulZ(a.p[0], x)));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select(x >= V(0), V(1), a.p[0] * a.p[0] * Sech2(MulZ(a.p[0], x)));
  }
  template <class V>
  ACTSERVE_HD static V ParamDerivative(const V& x, const Args<V>& a) {
    V ax = MulZ(a.p[0], x);
    // a*x*sech^2(a*x) -> 0 as x -> -inf; MulZ keeps that limit when a*x overflows.
    return Select(x >= V(0), V(0), Tanh(ax) + MulZ(Sech2(ax), ax));
  }
};

struct Softplus : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "softplus",
      .formula = "log(1+exp(beta*x))/beta, x where beta*x > threshold",
      .derivative = "sigmoid(beta*x), 1 where beta*x > threshold",
      .output_range = "(0, inf)",
      .kink_convention = "linear above the threshold, as torch.nn.Softplus",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (18), (19); torch.nn.Softplus",
      .params = {{.name = "beta", .default_value = 1, .min = 0, .min_exclusive = true},
                 {.name = "threshold", .default_value = 20}},
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .monotonic_derivative = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    V bx = a.p[0] * x;
    return Select(bx > a.p[1], x, LogOnePlusExp(bx) / a.p[0]);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    V bx = a.p[0] * x;
    return Select(bx > a.p[1], V(1), Sigmoid(bx));
  }
};

struct ReluSoftplus : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "relu_softplus",
      .formula = "x if x >= 0 else log(1+exp(x)) - log(2)",
      .derivative = "1 if x >= 0 else sigmoid(x)",
      .output_range = "(-log 2, inf)",
      .kink_convention = "f'(0) = 1",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (22), (23)",
      .properties = {.monotonic = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .monotonic_derivative = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    // log((1+e^x)/2) = log1p(expm1(x)/2): no cancellation near 0.
    return Select(x >= V(0), x, Log1p(V(0.5) * Expm1(x)));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Select(x >= V(0), V(1), Sigmoid(x));
  }
};

struct ReluSoftsign : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "relu_softsign",
      .formula = "x if x >= 0 else x/(1-x)",
      .derivative = "1 if x >= 0 else 1/(1-x)^2",
      .output_range = "(-1, inf)",
      .kink_convention = "f'(0) = 1",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (24), (25)",
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .identity_near_zero = true,
                     .cost = Cost::kArithmetic}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(x >= V(0), x, Select(IsInf(x), V(-1), x / (V(1) - x)));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V d = V(1) - x;
    return Select(x >= V(0), V(1), V(1) / (d * d));
  }
};

struct Threshold : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "threshold",
      .formula = "x if x > t else v",
      .derivative = "1 if x > t else 0",
      .output_range = "{v} and (t, inf)",
      .kink_convention = "f(t) = v, f'(t) = 0",
      .source = "torch.nn.Threshold",
      .params = {{.name = "t", .default_value = 0}, {.name = "v", .default_value = 0}},
      .properties = {.monotonic = true,
                     .saturation = Saturation::kOneSidedHard,
                     .sparse = true,
                     .monotonic_derivative = true,
                     .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x > a.p[0], x, a.p[1]);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select(x > a.p[0], V(1), V(0));
  }
};

struct Squareplus : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "squareplus",
      .formula = "(x + sqrt(x^2+b))/2",
      .derivative = "(1 + x/sqrt(x^2+b))/2",
      .output_range = "(0, inf)",
      .kink_convention = "none",
      .source = "jax.nn.squareplus",
      .params = {{.name = "b", .default_value = 4, .min = 0, .min_exclusive = true}},
      .properties = {.monotonic = true,
                     .smooth = true,
                     .saturation = Saturation::kOneSidedSoft,
                     .monotonic_derivative = true,
                     .cost = Cost::kArithmetic}};
  // sqrt(x^2+b) without overflow: above 1e10 the b term is below double precision.
  template <class V>
  ACTSERVE_HD static V Root(const V& x, const Args<V>& a) {
    return Select(Abs(x) > V(1e10), Abs(x), Sqrt(Fma(x, x, a.p[0])));
  }
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    V r = Root(x, a);
    // For x < 0, (x + r)/2 cancels; b / (2(r - x)) is the same value without cancellation.
    return Select(x < V(0), V(0.25) * a.p[0] / (V(0.5) * r - V(0.5) * x), V(0.5) * x + V(0.5) * r);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    V r = Root(x, a);
    V neg = V(0.5) * a.p[0] / (r * (r - x));
    return Select(x < V(0), neg, Select(IsInf(x), V(1), V(0.5) * (V(1) + x / r)));
  }
};

struct Hardshrink : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "hardshrink",
      .formula = "x if |x| > l else 0",
      .derivative = "1 if |x| > l else 0",
      .output_range = "{0} and |y| > l",
      .kink_convention = "f'(+-l) = 0, f'(0) = 0",
      .source = "torch.nn.Hardshrink",
      .params = {{.name = "l", .default_value = 0.5, .min = 0}},
      .properties = {
          .monotonic = true, .zero_centered = true, .sparse = true, .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(Abs(x) > a.p[0], x, V(0));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select(Abs(x) > a.p[0], V(1), V(0));
  }
};

struct Softshrink : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "softshrink",
      .formula = "x-l if x > l, x+l if x < -l, else 0",
      .derivative = "1 if |x| > l else 0",
      .output_range = "(-inf, inf)",
      .kink_convention = "f'(+-l) = 0, f'(0) = 0",
      .source = "torch.nn.Softshrink",
      .params = {{.name = "l", .default_value = 0.5, .min = 0}},
      .properties = {
          .monotonic = true, .zero_centered = true, .sparse = true, .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return Select(x > a.p[0], x - a.p[0], Select(x < -a.p[0], x + a.p[0], V(0)));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    return Select(Abs(x) > a.p[0], V(1), V(0));
  }
};

}  // namespace actserve::fn

#endif  // ACTSERVE_KERNELS_CATALOG_FUNCTIONS_RECTIFIERS_H_
