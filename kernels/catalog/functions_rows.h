// Activations over the last axis: each row of the input maps to one row of the output.
//
//   struct Name {
//     static constexpr ActivationInfo kInfo = {..., .layout = Layout::kLastAxis};
//     // Output row length for an input row of length n, or -1 if n breaks kInfo.last_axis_rule.
//     static int64_t OutputLength(int64_t n, const double* params);
//     template <class V, class T>
//     static void Forward(const T* x, int64_t n, const double* params, T* y);
//     // dx for one row: x has length n, dy the output length; scratch holds n values.
//     template <class V, class T>
//     static void Backward(const T* x, const T* dy, int64_t n, const double* params, T* scratch,
//                          T* dx);
//     // Only with kInfo.backward_from_output: dx for one row from the forward's output y.
//     template <class V, class T>
//     static void BackwardFromOutput(const T* y, const T* dy, int64_t n, const double* params,
//                                    T* dx);
//   };
//
// V is the value type the row is walked in: T itself (one element at a time, as a GPU thread
// would) or a SIMD vector of T (the CPU). A partial vector at the row's end is padded with the
// neutral value of what follows (-inf before a max or exp, 0 before a sum).
#ifndef ACTSERVE_KERNELS_CATALOG_FUNCTIONS_ROWS_H_
#define ACTSERVE_KERNELS_CATALOG_FUNCTIONS_ROWS_H_

#include <cstdint>

#include "kernels/catalog/definition.h"

namespace actserve::fn {
using namespace ::actserve::math;  // NOLINT(build/namespaces): the definitions' vocabulary

inline constexpr Properties kSoftmaxProperties = {.smooth = true,
                                                  .saturation = Saturation::kTwoSidedSoft};

// Calls f(i, count) for the row's vectors: count = lanes of V, less for the last one.
template <class V, class F>
ACTSERVE_HD void ForEachChunk(int64_t n, F&& f) {
  constexpr int64_t L = Lanes<V>();
  for (int64_t i = 0; i < n; i += L) f(i, n - i < L ? n - i : L);
}

// combine() of term(i, count) over the row's chunks (called in order, once each), in four
// accumulators that start at `init` and are combined at the end: consecutive chunks then do not
// wait on each other, where one chain of additions or maxima would run at their latency instead
// of their throughput.
template <class V, class Combine, class Term>
ACTSERVE_HD V ChunkReduce(int64_t n, const V& init, Combine combine, Term&& term) {
  constexpr int64_t L = Lanes<V>();
  V acc[4] = {init, init, init, init};
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    for (int k = 0; k < 4; ++k) acc[k] = combine(acc[k], term(i + k * L, L));
  }
  for (; i < n; i += L) acc[0] = combine(acc[0], term(i, n - i < L ? n - i : L));
  return combine(combine(acc[0], acc[1]), combine(acc[2], acc[3]));
}
template <class V, class Term>
ACTSERVE_HD V ChunkSum(int64_t n, Term&& term) {
  return ChunkReduce(
      n, V(0.0), [](const V& a, const V& b) { return a + b; }, term);
}

// exp(v - m) for v <= m (m is the row's maximum), or for m = +inf its limit: 1 where v is +inf,
// 0 elsewhere.
template <class V>
ACTSERVE_HD V ShiftedExp(const V& v, const V& m) {
  return Select(m == Inf<V>(), Select(v == m, V(1), V(0)), ExpNonPositive(v - m));
}

// The row's maximum of sign*x, NaN if any entry is NaN.
template <class V, class T>
ACTSERVE_HD T SignedMax(const T* x, int64_t n, T sign) {
  const T pad = -sign * Inf<T>();  // sign * pad = -inf: neutral for max
  return ReduceMaxNan(ChunkReduce(
      n, V(-Inf<T>()), [](const V& a, const V& b) { return MaxNan(a, b); },
      [&](int64_t i, int64_t c) { return V(sign) * LoadN<V>(x + i, c, pad); }));
}

// The sum s of ShiftedExp(sign*x, m) over a row with maximum m, as softmax divides by it. With
// m = +inf, s counts the entries at +inf: a row with two or more has no limit (their rates
// decide it), and s is then NaN, which makes the whole row NaN. A row of -inf only has none
// either: exp(-inf - -inf) is NaN already.
template <class T>
ACTSERVE_HD T SoftmaxSum(T m, T s) {
  return m == Inf<T>() && s > T(1) ? T(NAN) : s;
}

// The row's maximum m of sign*x and sum s of ShiftedExp(sign*x, m) (see SoftmaxSum).
template <class V, class T>
ACTSERVE_HD void SoftmaxStats(const T* x, int64_t n, T sign, T* max_out, T* sum_out) {
  const T pad = -sign * Inf<T>();  // exp(-inf) = 0 for the sum
  const T m = SignedMax<V>(x, n, sign);
  const V sv = ChunkSum<V>(
      n, [&](int64_t i, int64_t c) { return ShiftedExp(V(sign) * LoadN<V>(x + i, c, pad), V(m)); });
  *max_out = m;
  *sum_out = SoftmaxSum(m, ReduceSum(sv));
}

// softmax(sign * x) of one row into y: the exponentials are written to y as they are summed and
// then scaled, so each is computed once.
template <class V, class T>
ACTSERVE_HD void SoftmaxRow(const T* x, int64_t n, T sign, T* y) {
  const T pad = -sign * Inf<T>();  // exp(-inf) = 0 for the sum
  const T m = SignedMax<V>(x, n, sign);
  const V sv = ChunkSum<V>(n, [&](int64_t i, int64_t c) {
    const V e = ShiftedExp(V(sign) * LoadN<V>(x + i, c, pad), V(m));
    StoreN(e, y + i, c);
    return e;
  });
  const V inv(T(1) / SoftmaxSum(m, ReduceSum(sv)));
  ForEachChunk<V>(n,
                  [&](int64_t i, int64_t c) { StoreN(LoadN<V>(y + i, c, T(0)) * inv, y + i, c); });
}

// dx = sign * y * (dy - sum(dy * y)), the vector-Jacobian product of y = softmax(sign * x).
template <class V, class T>
ACTSERVE_HD void SoftmaxBackwardFromOutput(const T* y, const T* dy, int64_t n, T sign, T* dx) {
  const V dot = ChunkSum<V>(n, [&](int64_t i, int64_t c) {
    return LoadN<V>(dy + i, c, T(0)) * LoadN<V>(y + i, c, T(0));
  });
  const V d(ReduceSum(dot));
  // This pass reads from L1; the same place of the next row (when rows are contiguous) is
  // fetched meanwhile.
  ForEachChunk<V>(n, [&](int64_t i, int64_t c) {
    Prefetch<V>(y + n + i);
    Prefetch<V>(dy + n + i);
    StoreN(V(sign) * LoadN<V>(y + i, c, T(0)) * (LoadN<V>(dy + i, c, T(0)) - d), dx + i, c);
  });
}

// The same from x: the forward row into scratch first.
template <class V, class T>
ACTSERVE_HD void SoftmaxBackwardRow(const T* x, const T* dy, int64_t n, T sign, T* scratch, T* dx) {
  SoftmaxRow<V>(x, n, sign, scratch);
  SoftmaxBackwardFromOutput<V>(scratch, dy, n, sign, dx);
}

struct Softmax {
  static constexpr ActivationInfo kInfo = {
      .name = "softmax",
      .formula = "exp(x_i)/sum_j exp(x_j) over the last axis",
      .derivative = "dx = y*(dy - sum(dy*y))",
      .output_range = "(0, 1), each row sums to 1",
      .kink_convention = "none; a row with one +inf entry gives 1 there and 0 elsewhere",
      .source = "torch.softmax(dim=-1)",
      .properties = kSoftmaxProperties,
      .layout = Layout::kLastAxis,
      .backward_from_output = true};
  static int64_t OutputLength(int64_t n, const double*) { return n; }
  template <class V, class T>
  ACTSERVE_HD static void Forward(const T* x, int64_t n, const double*, T* y) {
    SoftmaxRow<V>(x, n, T(1), y);
  }
  template <class V, class T>
  ACTSERVE_HD static void Backward(const T* x, const T* dy, int64_t n, const double*, T* scratch,
                                   T* dx) {
    SoftmaxBackwardRow<V>(x, dy, n, T(1), scratch, dx);
  }
  template <class V, class T>
  ACTSERVE_HD static void BackwardFromOutput(const T* y, const T* dy, int64_t n, const double*,
                                             T* dx) {
    SoftmaxBackwardFromOutput<V>(y, dy, n, T(1), dx);
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
                                           .layout = Layout::kLastAxis,
                                           .backward_from_output = true};
  static int64_t OutputLength(int64_t n, const double*) { return n; }
  template <class V, class T>
  ACTSERVE_HD static void Forward(const T* x, int64_t n, const double*, T* y) {
    SoftmaxRow<V>(x, n, T(-1), y);
  }
  template <class V, class T>
  ACTSERVE_HD static void Backward(const T* x, const T* dy, int64_t n, const double*, T* scratch,
                                   T* dx) {
    SoftmaxBackwardRow<V>(x, dy, n, T(-1), scratch, dx);
  }
  template <class V, class T>
  ACTSERVE_HD static void BackwardFromOutput(const T* y, const T* dy, int64_t n, const double*,
                                             T* dx) {
    SoftmaxBackwardFromOutput<V>(y, dy, n, T(-1), dx);
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
      .layout = Layout::kLastAxis,
      .backward_from_output = true};
  static int64_t OutputLength(int64_t n, const double*) { return n; }
  template <class V, class T>
  ACTSERVE_HD static void Forward(const T* x, int64_t n, const double*, T* y) {
    T m, s;
    SoftmaxStats<V>(x, n, T(1), &m, &s);
    // (x - m) - log s: exact next to the maximum, where x - (m + log s) would round m + log s.
    // With m = +inf (one entry at +inf, s = 1) the limit is 0 there and -inf elsewhere; with s NaN
    // the whole row is NaN, as softmax's.
    const V log_s(Log(s)), vm(m);
    ForEachChunk<V>(n, [&](int64_t i, int64_t c) {
      V v = LoadN<V>(x + i, c, T(0));
      V finite_max = (v - vm) - log_s;
      StoreN(Select(vm == Inf<V>(), Select(v == vm, V(0), -Inf<V>()) + log_s, finite_max), y + i,
             c);
    });
  }
  template <class V, class T>
  ACTSERVE_HD static void Backward(const T* x, const T* dy, int64_t n, const double*, T* scratch,
                                   T* dx) {
    SoftmaxRow<V>(x, n, T(1), scratch);
    BackwardGivenSoftmax<V>(
        dy, n, [&](int64_t i, int64_t c) { return LoadN<V>(scratch + i, c, T(0)); }, dx);
  }
  // softmax(x) = exp(y).
  template <class V, class T>
  ACTSERVE_HD static void BackwardFromOutput(const T* y, const T* dy, int64_t n, const double*,
                                             T* dx) {
    BackwardGivenSoftmax<V>(
        dy, n, [&](int64_t i, int64_t c) { return Exp(LoadN<V>(y + i, c, -Inf<T>())); }, dx);
  }
  // dx = dy - p * sum(dy), where p(i, c) gives the chunk of softmax(x) at i.
  template <class V, class T, class P>
  ACTSERVE_HD static void BackwardGivenSoftmax(const T* dy, int64_t n, P p, T* dx) {
    const V sum = ChunkSum<V>(n, [&](int64_t i, int64_t c) { return LoadN<V>(dy + i, c, T(0)); });
    const V total(ReduceSum(sum));
    ForEachChunk<V>(n, [&](int64_t i, int64_t c) {
      Prefetch<V>(dy + n + i);  // this pass reads dy from L1: the next row's meanwhile
      StoreN(LoadN<V>(dy + i, c, T(0)) - p(i, c) * total, dx + i, c);
    });
  }
};

struct Maxout {
  static constexpr ActivationInfo kInfo = {
      .name = "maxout",
      .formula = "max over each group of k consecutive entries of the last axis",
      .derivative = "dy goes to the group's arg max",
      .output_range = "(-inf, inf)",
      .kink_convention = "on ties the first arg max gets the gradient",
      .source =
          "Zhang, Zhang, Yu, \"Overview of the Development of Activation Function and Its Nature "
          "Analysis\" (2021), section 1.5; Goodfellow et al., Maxout Networks (2013)",
      .params = {{.name = "k", .default_value = 2, .min = 1, .max = 1 << 24, .integer = true}},
      .properties = {.monotonic = true, .cost = Cost::kSelect},
      .layout = Layout::kLastAxis,
      .last_axis_rule = "divisible by k"};
  static int64_t OutputLength(int64_t n, const double* p) {
    int64_t k = static_cast<int64_t>(p[0]);
    return n % k == 0 ? n / k : -1;
  }
  // The maxima of c (<= lanes of V) consecutive groups of k entries from x, one group per lane
  // (the i-th entries of the groups are a strided load), and each one's index in its group: the
  // first maximum, or the first NaN, which wins and propagates. Indices are exact in T (k <= 2^24).
  template <class V, class T>
  ACTSERVE_HD static void GroupMax(const T* x, int64_t k, int64_t c, V* max, V* arg) {
    *max = LoadStridedN<V>(x, k, c, T(0));
    *arg = V(0);
    for (int64_t i = 1; i < k; ++i) {
      V v = LoadStridedN<V>(x + i, k, c, T(0));
      auto take = (v > *max) | (IsNan(v) & (*max == *max));
      *max = Select(take, v, *max);
      *arg = Select(take, V(static_cast<T>(i)), *arg);
    }
  }
  template <class V, class T>
  ACTSERVE_HD static void Forward(const T* x, int64_t n, const double* p, T* y) {
    int64_t k = static_cast<int64_t>(p[0]);
    ForEachChunk<V>(n / k, [&](int64_t j, int64_t c) {
      V max, arg;
      GroupMax(x + j * k, k, c, &max, &arg);
      StoreN(max, y + j, c);
    });
  }
  template <class V, class T>
  ACTSERVE_HD static void Backward(const T* x, const T* dy, int64_t n, const double* p, T*, T* dx) {
    int64_t k = static_cast<int64_t>(p[0]);
    ForEachChunk<V>(n / k, [&](int64_t j, int64_t c) {
      V max, arg;
      GroupMax(x + j * k, k, c, &max, &arg);
      V g = LoadN<V>(dy + j, c, T(0));
      for (int64_t i = 0; i < k; ++i) {
        StoreStridedN(Select(arg == V(static_cast<T>(i)), g, V(0)), dx + j * k + i, k, c);
      }
    });
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
  // a * g with g = sigmoid(b) or its derivative, positive for finite b: an infinite a gives a
  // there even where g underflows. Where b is infinite too g -> 0 has no limit against a: NaN.
  template <class V>
  ACTSERVE_HD static V Gated(const V& a, const V& g, const V& b) {
    return Select(IsInf(a) & (Abs(b) < Inf<V>()), a, a * g);
  }
  template <class V, class T>
  ACTSERVE_HD static void Forward(const T* x, int64_t n, const double*, T* y) {
    const int64_t h = n / 2;
    ForEachChunk<V>(h, [&](int64_t j, int64_t c) {
      V a = LoadN<V>(x + j, c, T(0)), b = LoadN<V>(x + h + j, c, T(0));
      StoreN(Gated(a, Sigmoid(b), b), y + j, c);
    });
  }
  template <class V, class T>
  ACTSERVE_HD static void Backward(const T* x, const T* dy, int64_t n, const double*, T*, T* dx) {
    const int64_t h = n / 2;
    ForEachChunk<V>(h, [&](int64_t j, int64_t c) {
      V a = LoadN<V>(x + j, c, T(0)), b = LoadN<V>(x + h + j, c, T(0));
      V g = LoadN<V>(dy + j, c, T(0)), s, ds;
      SigmoidAndDerivative(b, &s, &ds);
      StoreN(g * s, dx + j, c);
      StoreN(g * Gated(a, ds, b), dx + h + j, c);
    });
  }
};

}  // namespace actserve::fn

#endif  // ACTSERVE_KERNELS_CATALOG_FUNCTIONS_ROWS_H_
