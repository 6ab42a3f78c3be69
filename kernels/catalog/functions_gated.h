// Self-gated activations: x times a smooth gate in [0, 1] (swish, gelu, mish and relatives).
#ifndef ACTSERVE_KERNELS_CATALOG_FUNCTIONS_GATED_H_
#define ACTSERVE_KERNELS_CATALOG_FUNCTIONS_GATED_H_

#include <type_traits>

#include "kernels/catalog/definition.h"

namespace actserve::fn {
using namespace ::actserve::math;  // NOLINT(build/namespaces): the definitions' vocabulary

inline constexpr Properties kGatedProperties = {.smooth = true,
                                                .saturation = Saturation::kOneSidedSoft};

struct Swish {
  static constexpr ActivationInfo kInfo = {
      .name = "swish",
      .formula = "x*sigmoid(b*x)",
      .derivative = "s + b*x*s*(1-s), s = sigmoid(b*x)",
      .output_range = "[~-0.278/b, inf) for b > 0",
      .kink_convention = "none; df/db = x^2*s*(1-s)",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (11); Ramachandran et al., Searching for Activation Functions "
          "(2017)",
      .params = {{.name = "b", .default_value = 1, .learnable = true}},
      .properties = kGatedProperties};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    return MulZ(Sigmoid(MulZ(a.p[0], x)), x);  // MulZ: b = 0 is x/2, also at +-inf
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    V bx = MulZ(a.p[0], x), s, ds;
    SigmoidAndDerivative(bx, &s, &ds);
    return s + MulZ(ds, bx);
  }
  template <class V>
  ACTSERVE_HD static V ParamDerivative(const V& x, const Args<V>& a) {
    V s, ds;  // as Derivative computes it, so that a backward with both shares the division
    SigmoidAndDerivative(MulZ(a.p[0], x), &s, &ds);
    return MulZ(ds, x * x);
  }
};

struct Silu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "silu",
      .formula = "x*sigmoid(x)",
      .derivative = "s + x*s*(1-s), s = sigmoid(x)",
      .output_range = "[~-0.278, inf)",
      .kink_convention = "none",
      .source = "swish with b = 1, not learnable; torch.nn.SiLU, jax.nn.silu",
      .properties = kGatedProperties};
  template <class V>
  ACTSERVE_HD static Args<V> Unit() {
    return {{V(1)}, V(0)};
  }
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Swish::Forward(x, Unit<V>());
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Swish::Derivative(x, Unit<V>());
  }
};

struct Xwish {
  static constexpr ActivationInfo kInfo = {
      .name = "xwish",
      .formula = "x*(atan(b*x)+pi/2)/pi",
      .derivative = "(atan(b*x)+pi/2)/pi + b*x/(1+(b*x)^2)/pi",
      .output_range = "(-1/(pi*b), inf) for b > 0",
      .kink_convention = "none; df/db = x^2/(1+(b*x)^2)/pi",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), eq. (12), (13)",
      .params = {{.name = "b", .default_value = 1, .learnable = true}},
      .properties = kGatedProperties};
  static constexpr double kInvPi = 0.318309886183790671537767526745028724;
  // atan(z) + pi/2, as atan(-1/z) for z < -1 where the sum would cancel.
  template <class V>
  ACTSERVE_HD static V Gate(const V& z) {
    return Select(z < V(-1), Atan(V(-1) / z), Atan(z) + V(1.57079632679489661923132169163975144));
  }
  // z/(1+z^2) without overflowing z^2.
  template <class V>
  ACTSERVE_HD static V Ratio(const V& z) {
    V r = V(1) / z;
    return Select(Abs(z) > V(1), r / (V(1) + r * r), z / (V(1) + z * z));
  }
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>& a) {
    const V& b = a.p[0];
    V z = MulZ(b, x);  // b = 0 is x/2, also at +-inf
    // For b*x -> -inf, x*atan(-1/(b*x))/pi -> -1/(pi b); below -1e10 the remaining term
    // -1/(3 pi b z^2) is under double precision.
    V limit = V(-kInvPi) / b;
    return Select(z < V(-1e10), limit, MulZ(Gate(z) * V(kInvPi), x));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>& a) {
    V z = MulZ(a.p[0], x);
    // For z < -1, atan(t) - t/(1+t^2) with t = -1/z cancels; it equals (u - sin u)/2 with
    // u = 2 atan(t) <= pi/2, whose series has no cancellation.
    V u = V(2) * Atan(V(-1) / z);
    // Taylor coefficients of (u - sin u)/u^3 in powers of u^2: (-1)^(n+1)/(2n+1)!, n = 1..12.
    constexpr double kSinTail[] = {
        0.16666666666666666,     -0.0083333333333333332,  0.00019841269841269841,
        -2.7557319223985893e-06, 2.505210838544172e-08,   -1.6059043836821613e-10,
        7.6471637318198164e-13,  -2.8114572543455206e-15, 8.2206352466243295e-18,
        -1.9572941063391263e-20, 3.8681701706306841e-23,  -6.4469502843844736e-26};
    V tail = V(0.5) * u * u * u * Polynomial(u * u, kSinTail);
    return Select(z < V(-1), tail, Gate(z) + Ratio(z)) * V(kInvPi);
  }
  template <class V>
  ACTSERVE_HD static V ParamDerivative(const V& x, const Args<V>& a) {
    const V& b = a.p[0];
    V z = MulZ(b, x);
    // x^2/(1+z^2) = x*Ratio(z)/b; computed directly where b*x is small, and -> 1/b^2 at inf.
    V small = x * x / (V(1) + z * z);
    V large = Ratio(z) * x / b;
    return Select(IsInf(x), V(kInvPi) / (b * b), Select(Abs(z) > V(1), large, small) * V(kInvPi));
  }
};

struct Gelu : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "gelu",
      .formula = "x*Phi(x) = 0.5*x*(1+erf(x/sqrt(2)))",
      .derivative = "Phi(x) + x*phi(x)",
      .output_range = "[~-0.170, inf)",
      .kink_convention = "none",
      .source =
          "Hendrycks, Gimpel, Gaussian Error Linear Units (2016); torch.nn.GELU, oneDNN gelu_erf",
      .properties = kGatedProperties};
  static constexpr double kInvSqrt2 = 0.707106781186547524400844362104849039;
  static constexpr double kInvSqrt2Pi = 0.398942280401432677939946059934381868;
  // Phi(x) = erfc(z)/2 with z = -x/sqrt 2, accurate in the lower tail where 1+erf cancels.
  // z rounds to z_hi = z - z_lo, and erfc's relative sensitivity there is R(z) ~ 2z + 1/z, so the
  // lower tail is corrected to first order: erfc(z) = erfc(z_hi) (1 - z_lo R(z_hi)).
  static constexpr double kInvSqrt2Lo = -4.8336466567264567e-17;  // 1/sqrt 2 - kInvSqrt2
  template <class V>
  ACTSERVE_HD static V Phi(const V& x) {
    constexpr double kHi = static_cast<ScalarOf<V>>(kInvSqrt2);  // 1/sqrt 2 in V's precision
    constexpr double kLo = (kInvSqrt2 - kHi) + kInvSqrt2Lo;      // and the rest of it
    V z = x * V(-kHi);
    V z_lo = Fma(x, V(-kHi), -z) - x * V(kLo);
    // Beyond z = 1e3 erfc(z) is 0 in any precision, and the correction would overflow.
    V sensitivity = Select((z > V(1)) & (z < V(1e3)), V(2) * z + V(1) / z, V(0));
    return V(0.5) * Erfc(z) * (V(1) - MulZ(sensitivity, z_lo));
  }
  // phi(x) = exp(-x^2/2)/sqrt(2 pi), with x^2 split into hi + lo so the rounding of x^2 is not
  // amplified by exp in the tails.
  template <class V>
  ACTSERVE_HD static V Density(const V& x) {
    V h = x * x, l = Fma(x, x, -h);
    V e = ExpNonPositive(V(-0.5) * h);
    return MulZ(e, V(kInvSqrt2Pi) * (V(1) - V(0.5) * l));
  }
  // float: Phi(-|x|) = c e with e = exp(-x^2/2) (x^2 split as in Density) and c = erfc(a)
  // e^(a^2)/2, a = |x|/sqrt 2, so that the value and the derivative share one exponential and take
  // no erfc. erfc(a) e^(a^2) (1 + 2a) is smooth in u = (a-3)/(a+3) + 6/29 = (35a - 69)/(29a + 87);
  // kHalfLowerTail is half its polynomial in u, fitted (mpmath, least squares on Chebyshev nodes,
  // coefficients rounded to float one at a time) on a in [0, 11.5], where e underflows: 0.42 ulp.
  // 1/sqrt 2 is folded into u's and 1 + 2a's coefficients. Both are taken at ax = min(|x|, 16),
  // past which e is 0 (e^-128): that keeps x^2 and x c finite for infinite x; NaN stays NaN.
  template <class V>
  ACTSERVE_HD static void LowerTail(const V& ax, V* c, V* e) {
    constexpr double kHalfLowerTail[] = {0.63881856,       -0.04719243945,  -0.0826925335,
                                         0.1309603005,     -0.102850102,    0.0495007746,
                                         -0.0123342881,    -0.000833204425, 0.00148648920,
                                         -0.0001084739995, -0.000144307385};
    V u = Fma(V(35 * kInvSqrt2), ax, V(-69)) / Fma(V(29 * kInvSqrt2), ax, V(87));
    *c = Polynomial(u, kHalfLowerTail) / Fma(V(2 * kInvSqrt2), ax, V(1));
    V h = ax * ax, l = Fma(ax, ax, -h);
    *e = ExpNonPositive(V(-0.5) * h) * (V(1) - V(0.5) * l);
  }
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    if constexpr (std::is_same_v<ScalarOf<V>, float>) {
      V ax = Min(Abs(x), V(16)), c, e;
      LowerTail(ax, &c, &e);
      // x Phi(x) = max(x, 0) - |x| Phi(-|x|); e last: a subnormal result is rounded once.
      return Max(x, V(0)) - ax * c * e;
    } else {
      return MulZ(Phi(x), x);
    }
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    if constexpr (std::is_same_v<ScalarOf<V>, float>) {
      V ax = Min(Abs(x), V(16)), c, e;
      LowerTail(ax, &c, &e);
      // Phi(x) + x phi(x) with phi = e/sqrt(2 pi): 1 + t above 0 and -t below, t = e (|x|/sqrt(2
      // pi) - c).
      V t = e * Fma(ax, V(kInvSqrt2Pi), -c);
      return Select(x > V(0), V(1) + t, -t);
    } else {
      return Phi(x) + MulZ(Density(x), x);
    }
  }
};

struct GeluTanh : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "gelu_tanh",
      .formula = "0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3)))",
      .derivative = "exact derivative of the formula",
      .output_range = "[~-0.170, inf)",
      .kink_convention = "none",
      .source =
          "Hendrycks, Gimpel, Gaussian Error Linear Units (2016), tanh form; torch "
          "GELU(approximate='tanh'), oneDNN gelu_tanh",
      .properties = kGatedProperties};
  static constexpr double kSqrt2OverPi = 0.797884560802865355879892119868763737;
  static constexpr double kCubic = 0.044715;
  // 0.5*(1+tanh(u)) = sigmoid(2u), evaluated without the cancellation of 1+tanh(u) for u << 0.
  template <class V>
  ACTSERVE_HD static V TwoU(const V& x) {
    return V(2 * kSqrt2OverPi) * Fma(V(kCubic) * x, x * x, x);
  }
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return MulZ(Sigmoid(TwoU(x)), x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V t = TwoU(x);
    V dt = V(2 * kSqrt2OverPi) * Fma(V(3 * kCubic) * x, x, V(1)), s, ds;
    SigmoidAndDerivative(t, &s, &ds);
    return s + MulZ(ds, x * dt);
  }
};

struct Mish : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "mish",
      .formula = "x*tanh(softplus(x))",
      .derivative = "tanh(sp) + x*sigmoid(x)*(1-tanh(sp)^2), sp = softplus(x)",
      .output_range = "[~-0.309, inf)",
      .kink_convention = "none",
      .source = "torch.nn.Mish, oneDNN mish",
      .properties = kGatedProperties};
  // With n = e^x and w = n(n+2): tanh(softplus(x)) = w/(w+2), 1 - tanh^2 = 4(w+1)/(w+2)^2.
  // Above x = 40 the gate is 1 to double precision and w would overflow in float.
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    V n = Exp(Min(x, V(40)));
    V w = n * (n + V(2));
    return MulZ(Select(x > V(40), V(1), w / (w + V(2))), x);
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    V n = Exp(Min(x, V(40)));
    V w = n * (n + V(2));
    V r = V(1) / (w + V(2));
    V gate = w * r;
    V slope = V(4) * (w + V(1)) * r * r * (n / (V(1) + n));
    return Select(x > V(40), V(1), gate + MulZ(slope, x));
  }
};

struct Hardswish : Elementwise {
  static constexpr ActivationInfo kInfo = {
      .name = "hardswish",
      .formula = "x*clip(x+3, 0, 6)/6",
      .derivative = "0 if x < -3, 1 if x > 3, else (2x+3)/6",
      .output_range = "[-0.375, inf)",
      .kink_convention = "f'(-3) = -1/2 and f'(3) = 3/2 (the middle branch)",
      .source = "torch.nn.Hardswish, oneDNN hardswish",
      .properties = {
          .saturation = Saturation::kOneSidedHard, .sparse = true, .cost = Cost::kArithmetic}};
  template <class V>
  ACTSERVE_HD static V Forward(const V& x, const Args<V>&) {
    return Select(x <= V(-3), V(0), Select(x >= V(3), x, x * (x + V(3)) / V(6)));
  }
  template <class V>
  ACTSERVE_HD static V Derivative(const V& x, const Args<V>&) {
    return Select(x < V(-3), V(0), Select(x > V(3), V(1), Fma(V(2), x, V(3)) / V(6)));
  }
};

}  // namespace actserve::fn

#endif  // ACTSERVE_KERNELS_CATALOG_FUNCTIONS_GATED_H_
