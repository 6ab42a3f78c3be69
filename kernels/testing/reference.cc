#include "kernels/testing/reference.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>

namespace actserve::testing {
namespace {

constexpr Real kPi = 3.141592653589793238462643383279502884L;
constexpr Real kInf = std::numeric_limits<Real>::infinity();

Real Sig(Real x) { return x >= 0 ? 1 / (1 + expl(-x)) : expl(x) / (1 + expl(x)); }
Real SigPrime(Real x) {
  Real e = expl(-fabsl(x));
  return e / ((1 + e) * (1 + e));
}
Real Sech2(Real x) {
  Real c = coshl(x);
  return 1 / (c * c);
}

// Taylor coefficients of tanh from tanh' = 1 - tanh^2: (k+1) a_{k+1} = [k = 0] - sum a_i a_{k-i}.
const std::vector<Real>& TanhSeries() {
  static const std::vector<Real> a = [] {
    std::vector<Real> c(80, 0);
    for (int k = 0; k + 1 < 80; ++k) {
      Real s = (k == 0) ? 1 : 0;
      for (int i = 0; i <= k; ++i) s -= c[i] * c[k - i];
      c[k + 1] = s / (k + 1);
    }
    return c;
  }();
  return a;
}
Real TanhShrink(Real x) {
  if (fabsl(x) >= 0.25L) return x - tanhl(x);
  const auto& a = TanhSeries();
  Real s = 0, xp = x * x * x;
  for (int k = 3; k < 80; k += 2, xp *= x * x) s -= a[k] * xp;
  return s;
}
Real SincPrime(Real x) {
  if (fabsl(x) >= 0.5L) return (x * cosl(x) - sinl(x)) / (x * x);
  // sum_n (-1)^n 2n x^(2n-1) / (2n+1)!
  Real s = 0, term = 1;  // term = x^(2n-1)/(2n+1)! built incrementally
  Real fact = 1;         // (2n+1)!
  Real xp = 1 / x;       // x^(2n-1) for n = 0
  for (int n = 1; n < 30; ++n) {
    fact *= (2 * n) * (2 * n + 1);
    xp *= x * x;
    term = xp / fact;
    s += ((n % 2) ? -1 : 1) * 2 * n * term;
  }
  return x == 0 ? 0 : s;
}

using R = ElementwiseReference;
Real Unit(Real x, const Real*, Real) { return x == x ? 1 : x; }
Real Zero(Real x, const Real*, Real) { return x == x ? 0 : x; }

const std::map<std::string, R, std::less<>>& Table() {
  static const auto* table = new std::map<std::string, R, std::less<>>{
      {"identity", {[](Real x, const Real*, Real) { return x; }, Unit}},
      {"binary_step", {[](Real x, const Real*, Real) -> Real { return x >= 0 ? 1 : 0; }, Zero}},
      {"sigmoid",
       {[](Real x, const Real*, Real) { return Sig(x); },
        [](Real x, const Real*, Real) { return SigPrime(x); }}},
      {"tanh",
       {[](Real x, const Real*, Real) { return tanhl(x); },
        [](Real x, const Real*, Real) { return Sech2(x); }}},
      {"arctan",
       {[](Real x, const Real*, Real) { return atanl(x); },
        [](Real x, const Real*, Real) { return 1 / (1 + x * x); }}},
      {"softsign",
       {[](Real x, const Real*, Real) {
          return std::isinf(x) ? copysignl(1, x) : x / (1 + fabsl(x));
        },
        [](Real x, const Real*, Real) { return 1 / ((1 + fabsl(x)) * (1 + fabsl(x))); }}},
      {"relu",
       {[](Real x, const Real*, Real) -> Real { return x > 0 ? x : 0; },
        [](Real x, const Real*, Real) -> Real { return x > 0 ? 1 : 0; }}},
      {"leaky_relu",
       {[](Real x, const Real* p, Real) { return x >= 0 ? x : p[0] * x; },
        [](Real x, const Real* p, Real) { return x > 0 ? 1 : p[0]; }}},
      {"prelu",
       {[](Real x, const Real* p, Real) { return x >= 0 ? x : p[0] * x; },
        [](Real x, const Real* p, Real) { return x > 0 ? 1 : p[0]; }}},
      {"rrelu",
       {[](Real x, const Real* p, Real u) { return x >= 0 ? x : (p[0] + (p[1] - p[0]) * u) * x; },
        [](Real x, const Real* p, Real u) { return x > 0 ? 1 : p[0] + (p[1] - p[0]) * u; }}},
      {"noisy_relu",
       {[](Real x, const Real* p, Real n) -> Real { return x >= 0 ? x + p[0] * n : 0; },
        [](Real x, const Real*, Real) -> Real { return x >= 0 ? 1 : 0; }}},
      {"relu6",
       {[](Real x, const Real*, Real) -> Real { return x < 0   ? 0
                                                       : x > 6 ? 6
                                                               : x; },
        [](Real x, const Real*, Real) -> Real { return x > 0 && x < 6 ? 1 : 0; }}},
      {"elu",
       {[](Real x, const Real* p, Real) { return x > 0 ? x : p[0] * expm1l(x); },
        [](Real x, const Real* p, Real) { return x > 0 ? 1 : p[0] * expl(x); }}},
      {"selu",
       {[](Real x, const Real* p, Real) { return p[0] * (x > 0 ? x : p[1] * expm1l(x)); },
        [](Real x, const Real* p, Real) { return p[0] * (x > 0 ? 1 : p[1] * expl(x)); }}},
      {"celu",
       {[](Real x, const Real* p, Real) { return x > 0 ? x : p[0] * expm1l(x / p[0]); },
        [](Real x, const Real* p, Real) { return x > 0 ? 1 : expl(x / p[0]); }}},
      {"trelu",
       {[](Real x, const Real* p, Real) { return x >= 0 ? x : p[0] * tanhl(p[0] * x); },
        [](Real x, const Real* p, Real) { return x >= 0 ? 1 : p[0] * p[0] * Sech2(p[0] * x); }}},
      {"softplus",
       {[](Real x, const Real* p, Real) {
          return p[0] * x > p[1] ? x : log1pl(expl(p[0] * x)) / p[0];
        },
        [](Real x, const Real* p, Real) { return p[0] * x > p[1] ? 1 : Sig(p[0] * x); }}},
      {"relu_softplus",
       {[](Real x, const Real*, Real) { return x >= 0 ? x : log1pl(expm1l(x) / 2); },
        [](Real x, const Real*, Real) { return x >= 0 ? 1 : Sig(x); }}},
      {"relu_softsign",
       {[](Real x, const Real*, Real) { return x >= 0          ? x
                                               : std::isinf(x) ? -1
                                                               : x / (1 - x); },
        [](Real x, const Real*, Real) { return x >= 0 ? 1 : 1 / ((1 - x) * (1 - x)); }}},
      {"swish",
       {[](Real x, const Real* p, Real) {
          return std::isinf(x) ? (x * p[0] > 0 ? x : 0) : x * Sig(p[0] * x);
        },
        [](Real x, const Real* p, Real) {
          Real z = p[0] * x;
          return std::isinf(z) ? (z > 0 ? 1 : 0) : Sig(z) + z * SigPrime(z);
        }}},
      {"silu",
       {[](Real x, const Real*, Real) { return std::isinf(x) ? (x > 0 ? x : 0) : x * Sig(x); },
        [](Real x, const Real*, Real) {
          return std::isinf(x) ? (x > 0 ? 1 : 0) : Sig(x) + x * SigPrime(x);
        }}},
      {"xwish",
       {[](Real x, const Real* p, Real) {
          Real z = p[0] * x;
          if (x == -kInf) return -1 / (kPi * p[0]);
          Real g = z < -1 ? atanl(-1 / z) : atanl(z) + kPi / 2;
          return x * g / kPi;
        },
        [](Real x, const Real* p, Real) {
          Real z = p[0] * x;
          Real g = z < -1 ? atanl(-1 / z) : atanl(z) + kPi / 2;
          if (z < -2) {  // atan(t) - t/(1+t^2), t = -1/z: its series, no cancellation
            Real t = -1 / z, s = 0, tp = t * t * t;
            for (int n = 1; n < 40; ++n, tp *= t * t)
              s += (n % 2 ? 1 : -1) * (2.0L * n / (2 * n + 1)) * tp;
            return s / kPi;
          }
          Real r = std::isinf(z) ? 0 : z / (1 + z * z);
          return (g + r) / kPi;
        }}},
      {"gelu",
       {[](Real x, const Real*, Real) { return x == -kInf ? 0 : 0.5L * x * erfcl(-x / sqrtl(2)); },
        [](Real x, const Real*, Real) {
          Real pdf = std::isinf(x) ? 0 : x * expl(-x * x / 2) / sqrtl(2 * kPi);
          return 0.5L * erfcl(-x / sqrtl(2)) + pdf;
        }}},
      {"gelu_tanh",
       {[](Real x, const Real*, Real) {
          Real u = sqrtl(2 / kPi) * (x + 0.044715L * x * x * x);
          return std::isinf(x) ? (x > 0 ? x : 0) : x / (1 + expl(-2 * u));
        },
        [](Real x, const Real*, Real) {
          if (std::isinf(x)) return Real(x > 0 ? 1 : 0);
          Real u = sqrtl(2 / kPi) * (x + 0.044715L * x * x * x);
          Real du = sqrtl(2 / kPi) * (1 + 3 * 0.044715L * x * x);
          return 1 / (1 + expl(-2 * u)) + 0.5L * x * Sech2(u) * du;
        }}},
      {"bent_identity",
       {[](Real x, const Real*, Real) {
          if (std::isinf(x)) return x;
          return x * x / (2 * (sqrtl(x * x + 1) + 1)) +
                 x;  // (sqrt(x^2+1)-1)/2 without cancellation
        },
        [](Real x, const Real*, Real) {
          if (std::isinf(x)) return Real(x > 0 ? 1.5L : 0.5L);
          return x / (2 * sqrtl(x * x + 1)) + 1;
        }}},
      {"sinusoid",
       {[](Real x, const Real*, Real) { return sinl(x); },
        [](Real x, const Real*, Real) { return cosl(x); }}},
      {"sinc",
       {[](Real x, const Real*, Real) -> Real {
          return x == 0 ? 1 : std::isinf(x) ? 0 : sinl(x) / x;
        },
        [](Real x, const Real*, Real) -> Real { return std::isinf(x) ? 0 : SincPrime(x); }}},
      {"gaussian",
       {[](Real x, const Real*, Real) { return expl(-x * x); },
        [](Real x, const Real*, Real) { return std::isinf(x) ? 0 : -2 * x * expl(-x * x); }}},
      {"hard_sigmoid",
       {[](Real x, const Real* p, Real) -> Real {
          Real lo = -p[1] / p[0], hi = (1 - p[1]) / p[0];
          return x <= lo ? 0 : x >= hi ? 1 : p[0] * x + p[1];
        },
        [](Real x, const Real* p, Real) -> Real {
          Real lo = -p[1] / p[0], hi = (1 - p[1]) / p[0];
          return x > lo && x < hi ? p[0] : 0;
        }}},
      {"hard_tanh",
       {[](Real x, const Real* p, Real) { return x < p[0]   ? p[0]
                                                 : x > p[1] ? p[1]
                                                            : x; },
        [](Real x, const Real* p, Real) -> Real { return x > p[0] && x < p[1] ? 1 : 0; }}},
      {"lecun_tanh",
       {[](Real x, const Real* p, Real) { return p[0] * tanhl(p[1] * x); },
        [](Real x, const Real* p, Real) { return p[0] * p[1] * Sech2(p[1] * x); }}},
      {"symmetrical_sigmoid",
       {[](Real x, const Real*, Real) { return tanhl(x / 2); },
        [](Real x, const Real*, Real) { return Sech2(x / 2) / 2; }}},
      {"complementary_log_log",
       {[](Real x, const Real*, Real) { return -expm1l(-expl(x)); },
        [](Real x, const Real*, Real) { return x == kInf ? 0 : expl(x - expl(x)); }}},
      {"absolute",
       {[](Real x, const Real*, Real) { return fabsl(x); },
        [](Real x, const Real*, Real) -> Real { return x > 0   ? 1
                                                       : x < 0 ? -1
                                                               : 0; }}},
      {"mish",
       {[](Real x, const Real*, Real) {
          if (x == -kInf) return Real(0);
          return x * tanhl(x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x)));
        },
        [](Real x, const Real*, Real) {
          if (std::isinf(x)) return Real(x > 0 ? 1 : 0);
          Real sp = x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
          return tanhl(sp) + x * Sig(x) * Sech2(sp);
        }}},
      {"hardswish",
       {[](Real x, const Real*, Real) -> Real {
          return x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6;
        },
        [](Real x, const Real*, Real) -> Real {
          return x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6;
        }}},
      {"log_sigmoid",
       {[](Real x, const Real*, Real) { return x < 0 ? x - log1pl(expl(x)) : -log1pl(expl(-x)); },
        [](Real x, const Real*, Real) { return Sig(-x); }}},
      {"tanhshrink",
       {[](Real x, const Real*, Real) { return TanhShrink(x); },
        [](Real x, const Real*, Real) { return tanhl(x) * tanhl(x); }}},
      {"hardshrink",
       {[](Real x, const Real* p, Real) -> Real { return fabsl(x) > p[0] ? x : 0; },
        [](Real x, const Real* p, Real) -> Real { return fabsl(x) > p[0] ? 1 : 0; }}},
      {"softshrink",
       {[](Real x, const Real* p, Real) -> Real {
          return x > p[0] ? x - p[0] : x < -p[0] ? x + p[0] : 0;
        },
        [](Real x, const Real* p, Real) -> Real { return fabsl(x) > p[0] ? 1 : 0; }}},
      {"threshold",
       {[](Real x, const Real* p, Real) { return x > p[0] ? x : p[1]; },
        [](Real x, const Real* p, Real) -> Real { return x > p[0] ? 1 : 0; }}},
      {"squareplus",
       {[](Real x, const Real* p, Real) {
          Real r = sqrtl(x * x + p[0]);
          if (std::isinf(x)) return x > 0 ? x : 0;
          return x < 0 ? p[0] / (2 * (r - x)) : (x + r) / 2;
        },
        [](Real x, const Real* p, Real) {
          if (std::isinf(x)) return Real(x > 0 ? 1 : 0);
          Real r = sqrtl(x * x + p[0]);
          return x < 0 ? p[0] / (2 * r * (r - x)) : (1 + x / r) / 2;
        }}},
  };
  return *table;
}

std::vector<Real> Softmax(const std::vector<Real>& x, Real sign) {
  Real m = -kInf;
  for (Real v : x) m = std::fmax(m, sign * v);
  Real s = 0;
  for (Real v : x) s += expl(sign * v - m);
  std::vector<Real> y;
  for (Real v : x) y.push_back(expl(sign * v - m) / s);
  return y;
}

}  // namespace

const ElementwiseReference* FindElementwiseReference(std::string_view name) {
  auto it = Table().find(name);
  return it == Table().end() ? nullptr : &it->second;
}

bool ReferenceRowForward(std::string_view name, const std::vector<Real>& x, const Real* p,
                         std::vector<Real>* y) {
  size_t n = x.size();
  if (name == "softmax" || name == "softmin") {
    *y = Softmax(x, name == "softmax" ? 1 : -1);
  } else if (name == "log_softmax") {
    std::vector<Real> s = Softmax(x, 1);
    y->clear();
    for (Real v : s) y->push_back(logl(v));
  } else if (name == "maxout") {
    size_t k = static_cast<size_t>(p[0]);
    y->assign(n / k, -kInf);
    for (size_t i = 0; i < n; ++i) (*y)[i / k] = std::fmax((*y)[i / k], x[i]);
  } else if (name == "glu") {
    size_t h = n / 2;
    y->clear();
    for (size_t j = 0; j < h; ++j) y->push_back(x[j] * Sig(x[h + j]));
  } else {
    return false;
  }
  return true;
}

bool ReferenceRowBackward(std::string_view name, const std::vector<Real>& x,
                          const std::vector<Real>& dy, const Real* p, std::vector<Real>* dx) {
  size_t n = x.size();
  dx->assign(n, 0);
  if (name == "softmax" || name == "softmin") {
    // Full Jacobian: dy_j/dx_i = sign * y_j (delta_ij - y_i).
    Real sign = name == "softmax" ? 1 : -1;
    std::vector<Real> y = Softmax(x, sign);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) (*dx)[i] += dy[j] * sign * y[j] * ((i == j) - y[i]);
    }
  } else if (name == "log_softmax") {
    std::vector<Real> y = Softmax(x, 1);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) (*dx)[i] += dy[j] * ((i == j) - y[i]);
    }
  } else if (name == "maxout") {
    size_t k = static_cast<size_t>(p[0]);
    for (size_t g = 0; g < n / k; ++g) {
      size_t best = g * k;
      for (size_t i = g * k; i < (g + 1) * k; ++i) {
        if (x[i] > x[best]) best = i;
      }
      (*dx)[best] = dy[g];
    }
  } else if (name == "glu") {
    size_t h = n / 2;
    for (size_t j = 0; j < h; ++j) {
      (*dx)[j] = dy[j] * Sig(x[h + j]);
      (*dx)[h + j] = dy[j] * x[j] * SigPrime(x[h + j]);
    }
  } else {
    return false;
  }
  return true;
}

std::vector<std::string_view> ReferenceNames() {
  std::vector<std::string_view> names;
  for (const auto& [name, ref] : Table()) names.push_back(name);
  for (std::string_view row : {"softmax", "softmin", "log_softmax", "maxout", "glu"}) {
    names.push_back(row);
  }
  return names;
}

}  // namespace actserve::testing
