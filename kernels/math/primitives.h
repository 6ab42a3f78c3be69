// The vocabulary every activation definition is written in.
//
// A definition is a template over a value type V that is either a scalar (float, double; the
// per-element path of a GPU kernel) or a SIMD vector (cpu/simd.h provides the same functions
// for Vec<T>). Everything a definition needs is one of: arithmetic operators, comparisons,
// Select(mask, a, b), the functions below, and V(constant). The scalar overloads here are
// host-and-device functions so that a CUDA translation unit can evaluate the same definitions.
//
// Contract for every function: IEEE semantics for NaN and infinities, as the C library gives.
#ifndef ACTSERVE_KERNELS_MATH_PRIMITIVES_H_
#define ACTSERVE_KERNELS_MATH_PRIMITIVES_H_

#include <cmath>
#include <limits>
#include <type_traits>

// Marks functions that CUDA device code may call. The one place that knows about nvcc.
#if defined(__CUDACC__)
#define ACTSERVE_HD __host__ __device__ inline
#else
#define ACTSERVE_HD inline
#endif

namespace actserve::math {

template <class T>
inline constexpr bool kIsScalar = std::is_floating_point_v<T>;

// ScalarOf<V> is V itself for scalars and V::Scalar for vectors.
template <class V, class = void>
struct ScalarOfImpl {
  using type = V;
};
template <class V>
struct ScalarOfImpl<V, std::void_t<typename V::Scalar>> {
  using type = typename V::Scalar;
};
template <class V>
using ScalarOf = typename ScalarOfImpl<V>::type;

template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Select(bool m, T a, T b) {
  return m ? a : b;
}
ACTSERVE_HD bool Not(bool m) { return !m; }

template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Exp(T x) {
  return std::exp(x);
}
// e^x where the caller guarantees x <= 0 or NaN (vectors leave out a clamp for it).
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T ExpNonPositive(T x) {
  return std::exp(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Expm1(T x) {
  return std::expm1(x);
}
// e^x - 1 where the caller guarantees x <= 0 or NaN (vectors leave out a clamp and a case).
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Expm1NonPositive(T x) {
  return std::expm1(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Log(T x) {
  return std::log(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Log1p(T x) {
  return std::log1p(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Tanh(T x) {
  return std::tanh(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Atan(T x) {
  return std::atan(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Erfc(T x) {
  return std::erfc(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Sin(T x) {
  return std::sin(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Cos(T x) {
  return std::cos(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Sqrt(T x) {
  return std::sqrt(x);
}
// x = m 2^e with m in [0.5, 1) for finite nonzero x, as std::frexp, with e as a T.
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Frexp(T x, T* e) {
  int n;
  const T m = std::frexp(x, &n);
  *e = static_cast<T>(n);
  return m;
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Abs(T x) {
  return std::fabs(x);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T Fma(T a, T b, T c) {
  return std::fma(a, b, c);
}

// ---- Lane access, for code that walks arrays (the last-axis functions). A scalar is a vector of
// one lane; cpu/simd.h gives the same functions for Vec<T>. ----

// LaneOps<V>: the lane count of V, padded and strided loads and strided stores, as a class so that
// cpu/simd.h can specialise it for vectors (a function template named with <V> would not be found
// there).
template <class V, class = void>
struct LaneOps {
  static constexpr int kLanes = 1;
  // count (0 or 1) values from p, `fill` where there are none.
  template <class T>
  ACTSERVE_HD static V Load(const T* p, long count, T fill) {
    return count > 0 ? *p : fill;
  }
  // count values p[0], p[stride], p[2 stride], ..., `fill` where there are none.
  template <class T>
  ACTSERVE_HD static V LoadStrided(const T* p, long stride, long count, T fill) {
    return count > 0 ? *p : fill;
  }
  // Stores the first count lanes of v to p[0], p[stride], ...
  template <class T>
  ACTSERVE_HD static void StoreStrided(const V& v, T* p, long stride, long count) {
    if (count > 0) *p = v;
  }
  // A hint that the cache line at p will be read soon; nothing for scalars.
  template <class T>
  ACTSERVE_HD static void Prefetch(const T*) {}
};
template <class V>
ACTSERVE_HD constexpr int Lanes() {
  return LaneOps<V>::kLanes;
}
template <class V, class T>
ACTSERVE_HD V LoadN(const T* p, long count, T fill) {
  return LaneOps<V>::Load(p, count, fill);
}
// A hint that the cache line at p will be read soon (p need not be valid memory). For the row
// functions, whose later passes run from L1 while the memory system has no demand miss to follow.
template <class V, class T>
ACTSERVE_HD void Prefetch(const T* p) {
  LaneOps<V>::Prefetch(p);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD void StoreN(T v, T* p, long count) {
  if (count > 0) *p = v;
}
// Strided forms of LoadN and StoreN: lane i is p[i * stride] (a gather and a scatter).
template <class V, class T>
ACTSERVE_HD V LoadStridedN(const T* p, long stride, long count, T fill) {
  return LaneOps<V>::LoadStrided(p, stride, count, fill);
}
template <class V, class T>
ACTSERVE_HD void StoreStridedN(const V& v, T* p, long stride, long count) {
  LaneOps<V>::StoreStrided(v, p, stride, count);
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T ReduceSum(T v) {
  return v;
}
template <class T, std::enable_if_t<kIsScalar<T>, int> = 0>
ACTSERVE_HD T ReduceMaxNan(T v) {
  return v;
}

// ---- Helpers built from the primitives: written once, valid for scalars and vectors. ----

template <class V>
ACTSERVE_HD auto IsNan(const V& x) {
  return x != x;
}
template <class V>
ACTSERVE_HD auto IsInf(const V& x) {
  return Abs(x) == V(std::numeric_limits<ScalarOf<V>>::infinity());
}
template <class V>
ACTSERVE_HD V Inf() {
  return V(std::numeric_limits<ScalarOf<V>>::infinity());
}
template <class V>
ACTSERVE_HD V Min(const V& a, const V& b) {
  return Select(b < a, b, a);
}
template <class V>
ACTSERVE_HD V Max(const V& a, const V& b) {
  return Select(b > a, b, a);
}
// max(a, b), NaN if either is NaN.
template <class V>
ACTSERVE_HD V MaxNan(const V& a, const V& b) {
  return Select((b > a) | (b != b), b, a);
}

// a * b, except that a zero `a` gives 0 even when b is infinite. For limits such as
// x * sigmoid(x) at x = -inf, where the factor vanishes faster than x grows.
template <class V>
ACTSERVE_HD V MulZ(const V& a, const V& b) {
  return Select(a == V(0), V(0), a * b);
}

// Logistic sigmoid 1/(1+e^-x), accurate for every x: exp of a non-positive argument only.
template <class V>
ACTSERVE_HD V Sigmoid(const V& x) {
  V e = ExpNonPositive(-Abs(x));
  V r = V(1) / (V(1) + e);
  return Select(x >= V(0), r, e * r);
}

// sigmoid(x) * sigmoid(-x) = e^-|x| / (1 + e^-|x|)^2, the logistic derivative without the
// cancellation of y(1-y) in the tails.
template <class V>
ACTSERVE_HD V SigmoidDerivative(const V& x) {
  V e = ExpNonPositive(-Abs(x));
  V d = V(1) + e;
  return e / (d * d);
}

// Sigmoid(x) and SigmoidDerivative(x) together, with one exponential and one division (the
// derivative as e r^2, r = 1/(1 + e)), for the derivatives that need both.
template <class V>
ACTSERVE_HD void SigmoidAndDerivative(const V& x, V* s, V* ds) {
  V e = ExpNonPositive(-Abs(x));
  V r = V(1) / (V(1) + e);
  V er = e * r;
  *s = Select(x >= V(0), r, er);
  *ds = er * r;
}

// sech^2(x) = 1 - tanh^2(x) = 4e^{-2|x|} / (1 + e^{-2|x|})^2, accurate in the tails.
template <class V>
ACTSERVE_HD V Sech2(const V& x) {
  V e = ExpNonPositive(V(-2) * Abs(x));
  V d = V(1) + e;
  return V(4) * e / (d * d);
}

// ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), accurate for every x.
template <class V>
ACTSERVE_HD V LogOnePlusExp(const V& x) {
  return Max(x, V(0)) + Log1p(ExpNonPositive(-Abs(x)));
}

// Evaluates c[0] + c[1] z + ... + c[n-1] z^(n-1) by Horner's rule.
template <class V, class T, int N>
ACTSERVE_HD V Polynomial(const V& z, const T (&c)[N], int n = N) {
  V acc = V(c[n - 1]);
  for (int i = n - 2; i >= 0; --i) acc = Fma(acc, z, V(c[i]));
  return acc;
}

}  // namespace actserve::math

#endif  // ACTSERVE_KERNELS_MATH_PRIMITIVES_H_
