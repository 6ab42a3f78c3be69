// Activations over the last axis: each row of the input maps to one row of the output.
//
//   struct Name {
//     static constexpr ActivationInfo kInfo = {..., .layout = Layout::kLastAxis};
//     // Output row length for an input row of length n, or -1 if n breaks kInfo.last_axis_rule.
//     static int64_t OutputLength(int64_t n, const double* params);
//     template <class T> static void Forward(const T* x, int64_t n, const double* params, T* y);
//     // dx for one row: x has length n, dy the output length; scratch holds n values.
//     template <class T> static void Backward(const T* x, const T* dy, int64_t n,
//                                             const double* params, T* scratch, T* dx);
//   };
#ifndef ACTSERVE_KERNELS_CATALOG_FUNCTIONS_ROWS_H_
#define ACTSERVE_KERNELS_CATALOG_FUNCTIONS_ROWS_H_

#include <cstdint>

#include "kernels/catalog/definition.h"

namespace actserve::fn {
using namespace ::actserve::math;  // NOLINT(build/namespaces): the definitions' vocabulary

inline constexpr Properties kSoftmaxProperties = {.smooth = true,
                                                  .saturation = Saturation::kTwoSidedSoft};

// Shared by softmax, log_softmax and softmin: the row's maximum m and sum of exp(sign*x - m).
// A NaN anywhere makes m NaN. With m = +inf only the infinite entries count (the limit).
template <class T>
ACTSERVE_HD void SoftmaxStats(const T* x, int64_t n, T sign, T* max_out, T* sum_out) {
  T m = -Inf<T>();
  for (int64_t i = 0; i < n; ++i) {
    T v = sign * x[i];
    m = (v > m || v != v) ? v : m;
    if (m != m) break;
  }
  T s = 0;
  for (int64_t i = 0; i < n; ++i) {
    T v = sign * x[i];
    s += (m == Inf<T>()) ? T(v == m) : Exp(v - m);
  }
  *max_out = m;
  *sum_out = s;
}

template <class T>
ACTSERVE_HD void SoftmaxRow(const T* x, int64_t n, T sign, T* y) {
  T m, s;
  SoftmaxStats(x, n, sign, &m, &s);
  T inv = T(1) / s;
  for (int64_t i = 0; i < n; ++i) {
    T v = sign * x[i];
    y[i] = ((m == Inf<T>()) ? T(v == m) : Exp(v - m)) * inv;
  }
}

// dx = sign * y * (dy - sum(dy * y)), the vector-Jacobian product of softmax(sign * x).
template <class T>
ACTSERVE_HD void SoftmaxBackwardRow(const T* x, const T* dy, int64_t n, T sign, T* y, T* dx) {
  SoftmaxRow(x, n, sign, y);
  T dot = 0;
  for (int64_t i = 0; i < n; ++i) dot += dy[i] * y[i];
  for (int64_t i = 0; i < n; ++i) dx[i] = sign * y[i] * (dy[i] - dot);
}

struct Softmax {
  static constexpr ActivationInfo kInfo = {
      .name = "softmax",
      .formula = "exp(x_i)/sum_j exp(x_j) over the last axis",
      .derivative = "dx = y*(dy - sum(dy*y))",
      .output_range = "(0, 1), each row sums to 1",
      .kink_convention = "none; a row with one +inf entry gives 1 there and 0 elsewhere",
      .source = "seeds 003, 004; torch.softmax(dim=-1)",
      .properties = kSoftmaxProperties,
      .layout = Layout::kLastAxis};
  static int64_t OutputLength(int64_t n, const double*) { return n; }
  template <class T>
  static void Forward(const T* x, int64_t n, const double*, T* y) {
    SoftmaxRow(x, n, T(1), y);
  }
  template <class T>
  static void Backward(const T* x, const T* dy, int64_t n, const double*, T* scratch, T* dx) {
    SoftmaxBackwardRow(x, dy, n, T(1), scratch, dx);
  }
};

struct Softmin {
  static constexpr ActivationInfo kInfo = {.name = "softmin",
                                           .formula = "softmax(-x) over the last axis",
                                           .derivative = "dx = -y*(dy - sum(dy*y))",
                                           .output_range = "(0, 1), each row sums to 1",
                                           .kink_convention = "none",
                                           .source = "torch.nn.Softmin",
                                           .properties = kSoftmaxProperties,
                                           .layout = Layout::kLastAxis};
  static int64_t OutputLength(int64_t n, const double*) { return n; }
  template <class T>
  static void Forward(const T* x, int64_t n, const double*, T* y) {
    SoftmaxRow(x, n, T(-1), y);
  }
  template <class T>
  static void Backward(const T* x, const T* dy, int64_t n, const double*, T* scratch, T* dx) {
    SoftmaxBackwardRow(x, dy, n, T(-1), scratch, dx);
  }
};

struct LogSoftmax {
  static constexpr ActivationInfo kInfo = {
      .name = "log_softmax",
      .formula = "x_i - logsumexp(x) over the last axis",
      .derivative = "dx = dy - exp(y)*sum(dy)",
      .output_range = "(-inf, 0]",
      .kink_convention = "none",
      .source = "torch.log_softmax(dim=-1), jax.nn.log_softmax",
      .properties = {.smooth = true, .saturation = Saturation::kOneSidedSoft},
      .layout = Layout::kLastAxis};
  static int64_t OutputLength(int64_t n, const double*) { return n; }
  template <class T>
  static void Forward(const T* x, int64_t n, const double*, T* y) {
    T m, s;
    SoftmaxStats(x, n, T(1), &m, &s);
    T shift = (m == Inf<T>()) ? T(0) : m + Log(s);
    for (int64_t i = 0; i < n; ++i) {
      y[i] = (m == Inf<T>()) ? (x[i] == m ? T(0) : -Inf<T>()) : x[i] - shift;
    }
  }
  template <class T>
  static void Backward(const T* x, const T* dy, int64_t n, const double*, T* scratch, T* dx) {
    SoftmaxRow(x, n, T(1), scratch);
    T sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += dy[i];
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] - scratch[i] * sum;
  }
};

struct Maxout {
  static constexpr ActivationInfo kInfo = {
      .name = "maxout",
      .formula = "max over each group of k consecutive entries of the last axis",
      .derivative = "dy goes to the group's arg max",
      .output_range = "(-inf, inf)",
      .kink_convention = "on ties the first arg max gets the gradient",
      .source = "seed 002",
      .params = {{.name = "k", .default_value = 2, .min = 1, .integer = true}},
      .properties = {.monotonic = true, .cost = Cost::kSelect},
      .layout = Layout::kLastAxis,
      .last_axis_rule = "divisible by k"};
  static int64_t OutputLength(int64_t n, const double* p) {
    int64_t k = static_cast<int64_t>(p[0]);
    return n % k == 0 ? n / k : -1;
  }
  // Index of the group's first maximum; a NaN entry wins (and propagates).
  template <class T>
  static int64_t ArgMax(const T* x, int64_t k) {
    int64_t best = 0;
    for (int64_t i = 1; i < k && x[best] == x[best]; ++i) {
      if (x[i] > x[best] || x[i] != x[i]) best = i;
    }
    return best;
  }
  template <class T>
  static void Forward(const T* x, int64_t n, const double* p, T* y) {
    int64_t k = static_cast<int64_t>(p[0]);
    for (int64_t j = 0; j < n / k; ++j) y[j] = x[j * k + ArgMax(x + j * k, k)];
  }
  template <class T>
  static void Backward(const T* x, const T* dy, int64_t n, const double* p, T*, T* dx) {
    int64_t k = static_cast<int64_t>(p[0]);
    for (int64_t j = 0; j < n / k; ++j) {
      int64_t best = ArgMax(x + j * k, k);
      for (int64_t i = 0; i < k; ++i) dx[j * k + i] = i == best ? dy[j] : T(0);
    }
  }
};

struct Glu {
  static constexpr ActivationInfo kInfo = {
      .name = "glu",
      .formula = "a*sigmoid(b), the last axis split into halves a, b",
      .derivative = "da = dy*sigmoid(b), db = dy*a*sigmoid(b)*(1-sigmoid(b))",
      .output_range = "(-inf, inf)",
      .kink_convention = "none",
      .source = "torch.nn.GLU(dim=-1), jax.nn.glu",
      .properties = {.smooth = true},
      .layout = Layout::kLastAxis,
      .last_axis_rule = "even"};
  static int64_t OutputLength(int64_t n, const double*) { return n % 2 == 0 ? n / 2 : -1; }
  template <class T>
  static void Forward(const T* x, int64_t n, const double*, T* y) {
    int64_t h = n / 2;
    for (int64_t j = 0; j < h; ++j) y[j] = MulZ(Sigmoid(x[h + j]), x[j]);
  }
  template <class T>
  static void Backward(const T* x, const T* dy, int64_t n, const double*, T*, T* dx) {
    int64_t h = n / 2;
    for (int64_t j = 0; j < h; ++j) {
      dx[j] = dy[j] * Sigmoid(x[h + j]);
      dx[h + j] = dy[j] * MulZ(SigmoidDerivative(x[h + j]), x[j]);
    }
  }
};

}  // namespace actserve::fn

#endif  // ACTSERVE_KERNELS_CATALOG_FUNCTIONS_ROWS_H_
