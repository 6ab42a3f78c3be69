// Activations outside the sigmoid, ReLU and gated families: linear, periodic, bell-shaped and
// shrinking functions.
#ifndef ACTSERVE_KERNELS_CATALOG_FUNCTIONS_OTHER_H_
#define ACTSERVE_KERNELS_CATALOG_FUNCTIONS_OTHER_H_

#include "kernels/catalog/definition.h"

namespace actserve::fn {
using namespace ::actserve::math;  // NOLINT(build/namespaces): the definitions' vocabulary

struct Identity : Elementwise {
  static constexpr ActivationInfo kInfo = {.name = "identity",
                                           .formula = "x",
                                           .derivative = "1",
                                           .output_range = "(-inf, inf)",
                                           .kink_convention = "none",
                                           .source = "torch.nn.Identity",
                                           .properties = {.monotonic = true,
                                                          .smooth = true,
                                                          .zero_centered = true,
                                                          .identity_near_zero = true,
                                                          .monotonic_derivative = true,
                                                          .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return x;
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V&, const Args<V>&) {
    return V(1);
  }
};

struct BinaryStep : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "binary_step",
      .formula = "0 if x < 0 else 1",
      .derivative = "0",
      .output_range = "{0, 1}",
      .kink_convention = "f(-0.0) = 1 (since -0.0 >= 0); f' = 0 everywhere, so no gradient flows",
      .source = "the Heaviside step of the perceptron",
      .properties = {.monotonic = true,
                     .saturation = Saturation::kTwoSidedHard,
                     .sparse = true,
                     .monotonic_derivative = true,
                     .gradient_flows = false,
                     .cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(x >= V(0), V(1), V(0));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V&, const Args<V>&) {
    return V(0);
  }
};

struct BentIdentity : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "bent_identity",
      .formula = "(sqrt(x^2+1)-1)/2 + x",
      .derivative = "x/(2*sqrt(x^2+1)) + 1",
      .output_range = "(-inf, inf)",
      .kink_convention = "none",
      .source = "the bent identity of the common activation tables",
      .properties = {.monotonic = true,
                     .smooth = true,
                     .zero_centered = true,
                     .identity_near_zero = true,
                     .monotonic_derivative = true,
                     .cost = Cost::kArithmetic}};
  // Beyond 1e10, sqrt(x^2+1) = |x| to double precision (and x^2 would overflow in float).
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    V t = Abs(x);
    V near = x * x / (V(2) * (Sqrt(Fma(x, x, V(1))) + V(1))) + x;
    V far = Select(x > V(0), V(1.5) * t - V(0.5), V(-0.5) * (t + V(1)));
    return Select(t > V(1e10), far, near);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V t = Abs(x);
    V near = x / (V(2) * Sqrt(Fma(x, x, V(1)))) + V(1);
    V far = Select(x > V(0), V(1.5), V(0.5));
    return Select(t > V(1e10), far, near);
  }
};

struct Sinusoid : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "sinusoid",
      .formula = "sin(x)",
      .derivative = "cos(x)",
      .output_range = "[-1, 1]",
      .kink_convention = "none",
      .source = "torch.sin as an activation (periodic activations)",
      .properties = {.smooth = true, .zero_centered = true, .identity_near_zero = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Sin(x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Cos(x);
  }
};

struct Sinc : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "sinc",
      .formula = "sin(x)/x, 1 at x = 0 (unnormalised)",
      .derivative = "cos(x)/x - sin(x)/x^2, 0 at x = 0",
      .output_range = "[~-0.217, 1]",
      .kink_convention = "none (removable singularity at 0)",
      .source = "the unnormalised cardinal sine (not NumPy's sin(pi x)/(pi x))",
      .properties = {.smooth = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(x == V(0), V(1), Select(IsInf(x), V(0), Sin(x) / x));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    // Below |x| = 1, x cos x - sin x cancels; the series converges fast there.
    // Taylor coefficients of sinc'(x)/x in powers of x^2: (-1)^n 2n/(2n+1)!, n = 1..12.
    constexpr double kSeries[] = {
        -0.33333333333333331,    0.033333333333333333,    -0.0011904761904761906,
        2.2045855379188714e-05,  -2.5052108385441718e-07, 1.9270852604185937e-09,
        -1.0706029224547743e-11, 4.498331606952833e-14,   -1.4797143443923793e-16,
        3.9145882126782523e-19,  -8.5099743753875053e-22, 1.5472680682522736e-24};
    V series = x * Polynomial(x * x, kSeries);
    V direct = (Cos(x) - Sin(x) / x) / x;
    return Select(Abs(x) < V(1), series, Select(IsInf(x), V(0), direct));
  }
};

struct Gaussian : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "gaussian",
      .formula = "exp(-x^2)",
      .derivative = "-2x*exp(-x^2)",
      .output_range = "(0, 1]",
      .kink_convention = "none",
      .source = "exp(-x^2), the radial basis of the common activation tables",
      .properties = {.smooth = true, .saturation = Saturation::kTwoSidedSoft}};
  // exp(-x^2) with x^2 = h + l split exactly (Fma), so that rounding x^2 is not amplified.
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    V h = x * x, l = Fma(x, x, -h);
    return MulZ(Exp(-h), V(1) - l);
  }
  // -2x exp(-x^2). Where x^2 >= 32 it is computed as exp(-(x^2 - 16)) * (-2x e^-16) (the
  // subtraction is exact there), so that it stays accurate where exp(-x^2) alone is already
  // subnormal but the product is not.
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V h = x * x, l = Fma(x, x, -h);
    auto far = h >= V(32);
    V e = Exp(Select(far, V(16) - h, -h));
    V c = Select(far, V(-2 * 1.1253517471925911451377517906012720e-7), V(-2));
    return MulZ(e, (V(1) - l) * (c * x));
  }
};

struct Absolute : Elementwise {
  static constexpr ActivationInfo kInfo = {.name = "absolute",
                                           .aliases = {"abs"},
                                           .formula = "|x|",
                                           .derivative = "sign(x)",
                                           .output_range = "[0, inf)",
                                           .kink_convention = "f'(0) = 0 (PyTorch)",
                                           .source = "torch.abs",
                                           .properties = {.cost = Cost::kSelect}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Abs(x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Select(x > V(0), V(1), Select(x < V(0), V(-1), V(0)));
  }
};

struct Tanhshrink : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "tanhshrink",
      .formula = "x - tanh(x)",
      .derivative = "tanh(x)^2",
      .output_range = "(-inf, inf)",
      .kink_convention = "none",
      .source = "torch.nn.Tanhshrink",
      .properties = {.monotonic = true, .smooth = true, .zero_centered = true}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    V t = Abs(x);
    // For |x| < 1: x^3 g(x^2), g(u) = (x - tanh x)/x^3, by Chebyshev fits of g on u in [0, 1]
    // (mpmath's chebyfit; relative error 4.5e-10 with 9 terms, 5.6e-17 with 16 and the
    // coefficients rounded to double). The Taylor series they replace needed 20 and 44 terms.
    constexpr double kFloatFit[] = {
        0.3333333331834693,   -0.13333330899461984,    0.05396759669145474,
        -0.02186257538161619, 0.00882625034385819,     -0.003478386489588535,
        0.001242157496259036, -0.00033768981029704557, 4.846711195865875e-05};
    constexpr double kDoubleFit[] = {
        0.3333333333333333,     -0.1333333333333309,     0.05396825396804637,
        -0.02186948852912909,   0.008863235404578283,    -0.003592126679366341,
        0.0014558246920964941,  -0.0005899792946300052,  0.00023895705228738225,
        -9.646277743313181e-05, 3.8389607893147334e-05,  -1.4606131676715378e-05,
        4.987760317520347e-06,  -1.3791814499083342e-06, 2.6330772232959337e-07,
        -2.5155023659382105e-08};
    V g;
    if constexpr (sizeof(ScalarOf<V>) == sizeof(float)) {
      g = Polynomial(x * x, kFloatFit);
    } else {
      g = Polynomial(x * x, kDoubleFit);
    }
    V series = x * x * x * g;
    // For |x| >= 1: |x| - tanh|x| = (|x| - 1) + 2 sigmoid(-2|x|), a sum of non-negative terms.
    V far = (t - V(1)) + V(2) * Sigmoid(V(-2) * t);
    return Select(t < V(1), series, Select(x < V(0), -far, far));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V t = Tanh(x);
    return t * t;
  }
};

}  // namespace actserve::fn

#endif  // ACTSERVE_KERNELS_CATALOG_FUNCTIONS_OTHER_H_
