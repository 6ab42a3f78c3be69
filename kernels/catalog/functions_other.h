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
    constexpr int kTerms = sizeof(ScalarOf<V>) == sizeof(float) ? 20 : 44;
    V t = Abs(x);
    // Taylor coefficients of (x - tanh x)/x^3 in powers of x^2; 44 terms reach double precision at
    // |x| = 1 (20 suffice for float).
    constexpr double kSeries[] = {
        0.33333333333333331,     -0.13333333333333333,    0.053968253968253971,
        -0.021869488536155203,   0.0088632355299021973,   -0.0035921280365724811,
        0.0014558343870513183,   -0.00059002744094558595, 0.00023912911424355248,
        -9.6915379569294509e-05, 3.9278323883316833e-05,  -1.5918905069328964e-05,
        6.4516892156554306e-06,  -2.6147711512907546e-06, 1.0597268320104654e-06,
        -4.2949110782738057e-07, 1.7406618963571648e-07,  -7.0546369464009681e-08,
        2.859136662305254e-08,   -1.1587644432798853e-08, 4.6962953982309016e-09,
        -1.9033368339312759e-09, 7.713933635359062e-10,   -3.1263395458920869e-10,
        1.2670576930305401e-10,  -5.1351914080393679e-11, 2.0812146867700473e-11,
        -8.4348454190943375e-12, 3.4185140868111557e-12,  -1.385471574294847e-12,
        5.6151047924146802e-13,  -2.2757162553728747e-13, 9.2231305851395323e-14,
        -3.737994031096739e-14,  1.5149519187148606e-14,  -6.1398688626168137e-15,
        2.4883951222762791e-15,  -1.0085085566354096e-15, 4.0873312268690138e-16,
        -1.6565329513786285e-16, 6.7136751750487117e-17,  -2.7209500613044588e-17,
        1.1027595233722371e-17,  -4.4693160072374125e-18};
    V series = x * x * x * Polynomial(x * x, kSeries, kTerms);
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
