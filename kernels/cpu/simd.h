// Vec<T>: one SIMD register of T (float or double) at the width Eigen picked for this build
// (16 floats with AVX-512, 8 with AVX2, 4 with SSE), with the primitives of math/primitives.h,
// so that the activation definitions evaluate a whole register per call.
//
// Arithmetic and comparisons are GCC vector extensions on Eigen's packet type; square root comes
// from Eigen; the transcendental functions call glibc's libmvec (the vector ABI variants that
// GCC itself emits for `#pragma omp simd`), which handles NaN, infinities and subnormals like
// the scalar libm. Widths that libmvec lacks fall back to the scalar libm lane by lane.
#ifndef ACTSERVE_KERNELS_CPU_SIMD_H_
#define ACTSERVE_KERNELS_CPU_SIMD_H_

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "Eigen/Core"
#include "kernels/math/primitives.h"

namespace actserve::cpu {

template <class T>
struct Vec {
  using Scalar = T;
  using Raw = typename Eigen::internal::packet_traits<T>::type;
  using MaskRaw = decltype(Raw{} < Raw{});
  static constexpr int kLanes = sizeof(Raw) / sizeof(T);

  Raw v;

  Vec() = default;
  explicit Vec(Raw r) : v(r) {}
  // Broadcast. Implicit on purpose: definitions write V(0.5) and mix vectors with scalars.
  Vec(double s) : v(Raw{} + static_cast<T>(s)) {}  // NOLINT(runtime/explicit)

  static Vec Load(const T* p) {
    Vec r;
    std::memcpy(&r.v, p, sizeof(Raw));
    return r;
  }
  void Store(T* p) const { std::memcpy(p, &v, sizeof(Raw)); }
  T Lane(int i) const { return v[i]; }
};

// A lane mask: all bits set where true.
template <class T>
struct Mask {
  typename Vec<T>::MaskRaw m;
};

#define ACTSERVE_VEC_BINARY_OP(op)                              \
  template <class T>                                            \
  inline Vec<T> operator op(const Vec<T>& a, const Vec<T>& b) { \
    return Vec<T>(a.v op b.v);                                  \
  }                                                             \
  template <class T>                                            \
  inline Vec<T>& operator op##=(Vec<T>& a, const Vec<T>& b) {   \
    a.v = a.v op b.v;                                           \
    return a;                                                   \
  }
ACTSERVE_VEC_BINARY_OP(+)
ACTSERVE_VEC_BINARY_OP(-)
ACTSERVE_VEC_BINARY_OP(*)
ACTSERVE_VEC_BINARY_OP(/)
#undef ACTSERVE_VEC_BINARY_OP

template <class T>
inline Vec<T> operator-(const Vec<T>& a) {
  return Vec<T>(-a.v);
}

#define ACTSERVE_VEC_COMPARE_OP(op)                              \
  template <class T>                                             \
  inline Mask<T> operator op(const Vec<T>& a, const Vec<T>& b) { \
    return Mask<T>{a.v op b.v};                                  \
  }
ACTSERVE_VEC_COMPARE_OP(<)
ACTSERVE_VEC_COMPARE_OP(<=)
ACTSERVE_VEC_COMPARE_OP(>)
ACTSERVE_VEC_COMPARE_OP(>=)
ACTSERVE_VEC_COMPARE_OP(==)
ACTSERVE_VEC_COMPARE_OP(!=)
#undef ACTSERVE_VEC_COMPARE_OP

template <class T>
inline Mask<T> operator&(const Mask<T>& a, const Mask<T>& b) {
  return Mask<T>{a.m & b.m};
}
template <class T>
inline Mask<T> operator|(const Mask<T>& a, const Mask<T>& b) {
  return Mask<T>{a.m | b.m};
}
template <class T>
inline Mask<T> Not(const Mask<T>& a) {
  return Mask<T>{~a.m};
}

template <class T>
inline Vec<T> Select(const Mask<T>& m, const Vec<T>& a, const Vec<T>& b) {
  return Vec<T>(m.m ? a.v : b.v);
}

template <class T>
inline Vec<T> Abs(const Vec<T>& x) {
  return Vec<T>(Eigen::internal::pabs(x.v));
}
template <class T>
inline Vec<T> Sqrt(const Vec<T>& x) {
  return Vec<T>(Eigen::internal::psqrt(x.v));
}
template <class T>
inline Vec<T> Fma(const Vec<T>& a, const Vec<T>& b, const Vec<T>& c) {
  return Vec<T>(Eigen::internal::pmadd(a.v, b.v, c.v));
}

namespace simd_internal {

// Applies the scalar libm function lane by lane: the fallback for widths libmvec lacks.
template <class T, class F>
inline Vec<T> PerLane(const Vec<T>& x, F f) {
  Vec<T> r;
  for (int i = 0; i < Vec<T>::kLanes; ++i) r.v[i] = f(x.v[i]);
  return r;
}

}  // namespace simd_internal

// libmvec entry points, named by the x86-64 vector function ABI: _ZGV{b,d,e}N{lanes}v_{name};
// b = SSE (128-bit), d = AVX2 (256-bit), e = AVX-512 (512-bit).
#define ACTSERVE_LIBMVEC_DECLARE(name)           \
  extern "C" __m128 _ZGVbN4v_##name##f(__m128);  \
  extern "C" __m128d _ZGVbN2v_##name(__m128d);   \
  extern "C" __m256 _ZGVdN8v_##name##f(__m256);  \
  extern "C" __m256d _ZGVdN4v_##name(__m256d);   \
  extern "C" __m512 _ZGVeN16v_##name##f(__m512); \
  extern "C" __m512d _ZGVeN8v_##name(__m512d);

#if defined(__AVX512F__)
#define ACTSERVE_LIBMVEC_512(name, x)          \
  if constexpr (sizeof(x.v) == 64) {           \
    if constexpr (std::is_same_v<T, float>)    \
      return Vec<T>(_ZGVeN16v_##name##f(x.v)); \
    else                                       \
      return Vec<T>(_ZGVeN8v_##name(x.v));     \
  } else
#else
#define ACTSERVE_LIBMVEC_512(name, x)
#endif
#if defined(__AVX2__)
#define ACTSERVE_LIBMVEC_256(name, x)         \
  if constexpr (sizeof(x.v) == 32) {          \
    if constexpr (std::is_same_v<T, float>)   \
      return Vec<T>(_ZGVdN8v_##name##f(x.v)); \
    else                                      \
      return Vec<T>(_ZGVdN4v_##name(x.v));    \
  } else
#else
#define ACTSERVE_LIBMVEC_256(name, x)
#endif

#define ACTSERVE_VEC_MATH_FUNCTION(Name, name)                          \
  ACTSERVE_LIBMVEC_DECLARE(name)                                        \
  template <class T>                                                    \
  inline Vec<T> Name(const Vec<T>& x) {                                 \
    ACTSERVE_LIBMVEC_512(name, x)                                       \
    ACTSERVE_LIBMVEC_256(name, x)                                       \
    return simd_internal::PerLane(x, [](T s) { return std::name(s); }); \
  }

ACTSERVE_VEC_MATH_FUNCTION(Exp, exp)
ACTSERVE_VEC_MATH_FUNCTION(Expm1, expm1)
ACTSERVE_VEC_MATH_FUNCTION(Log, log)
ACTSERVE_VEC_MATH_FUNCTION(Log1p, log1p)
ACTSERVE_VEC_MATH_FUNCTION(Tanh, tanh)
ACTSERVE_VEC_MATH_FUNCTION(Atan, atan)
ACTSERVE_VEC_MATH_FUNCTION(Erfc, erfc)
ACTSERVE_VEC_MATH_FUNCTION(Sin, sin)
ACTSERVE_VEC_MATH_FUNCTION(Cos, cos)

#undef ACTSERVE_VEC_MATH_FUNCTION
#undef ACTSERVE_LIBMVEC_256
#undef ACTSERVE_LIBMVEC_512
#undef ACTSERVE_LIBMVEC_DECLARE

}  // namespace actserve::cpu

#endif  // ACTSERVE_KERNELS_CPU_SIMD_H_
