// Vec<T>: one SIMD register of T (float or double) at the width Eigen picked for this build
// (16 floats with AVX-512, 8 with AVX2, 4 with SSE), with the primitives of math/primitives.h,
// so that the activation definitions evaluate a whole register per call.
//
// Arithmetic and comparisons are GCC vector extensions on Eigen's packet type; square root is
// the instruction; the transcendental functions call glibc's libmvec (the vector ABI variants that
// GCC itself emits for `#pragma omp simd`), which handles NaN, infinities and subnormals like
// the scalar libm. Widths that libmvec lacks fall back to the scalar libm lane by lane.
#ifndef ACTSERVE_KERNELS_CPU_SIMD_H_
#define ACTSERVE_KERNELS_CPU_SIMD_H_

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

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
  Vec(double s) : v(Eigen::internal::pset1<Raw>(static_cast<T>(s))) {}  // NOLINT(runtime/explicit)

  // An unmasked load of its own, issued as soon as p is known. The empty asm keeps the compiler
  // from folding the load into a later masked instruction (as it does with dy in
  // Select(IsNan(x), x, dy * f'(x))): a masked load waits for its mask, so dy's cache miss would
  // start only after x's had returned. Serialised misses cost 1.6x on DRAM-bound backward passes
  // (relu at 16 Mi elements, 1 thread: kernels/README.md).
  static Vec Load(const T* p) {
    Vec r;
    std::memcpy(&r.v, p, sizeof(Raw));
    asm("" : "+v"(r.v));
    return r;
  }
  void Store(T* p) const { std::memcpy(p, &v, sizeof(Raw)); }
  // A non-temporal store that bypasses the caches; p must be aligned to sizeof(Raw). Callers
  // issue StreamFence() before the data is read by another thread.
  void StoreStream(T* p) const {
#if defined(__AVX512F__)
    if constexpr (sizeof(Raw) == 64) {
      if constexpr (std::is_same_v<T, float>)
        return _mm512_stream_ps(p, v);
      else
        return _mm512_stream_pd(p, v);
    }
#endif
#if defined(__AVX__)
    if constexpr (sizeof(Raw) == 32) {
      if constexpr (std::is_same_v<T, float>)
        return _mm256_stream_ps(p, v);
      else
        return _mm256_stream_pd(p, v);
    }
#endif
    if constexpr (sizeof(Raw) == 16) {
      if constexpr (std::is_same_v<T, float>)
        return _mm_stream_ps(p, v);
      else
        return _mm_stream_pd(p, v);
    }
    Store(p);
  }
  T Lane(int i) const { return v[i]; }
};

inline void StreamFence() { _mm_sfence(); }

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
// Whether any lane of the mask is set.
template <class T>
inline bool Any(const Mask<T>& a) {
  bool any = false;
  for (int i = 0; i < Vec<T>::kLanes; ++i) any |= a.m[i] != 0;
  return any;
}
template <class T>
inline Mask<T> Not(const Mask<T>& a) {
  return Mask<T>{~a.m};
}

template <class T>
inline Vec<T> Select(const Mask<T>& m, const Vec<T>& a, const Vec<T>& b) {
  return Vec<T>(m.m ? a.v : b.v);
}

// math::Min and math::Max (Select(b < a, b, a) and Select(b > a, b, a): a where either is NaN or
// both are zeros) as one instruction each: Eigen's pmin and pmax follow std::min and std::max,
// which are exactly that.
template <class T>
inline Vec<T> Min(const Vec<T>& a, const Vec<T>& b) {
  return Vec<T>(Eigen::internal::pmin(a.v, b.v));
}
template <class T>
inline Vec<T> Max(const Vec<T>& a, const Vec<T>& b) {
  return Vec<T>(Eigen::internal::pmax(a.v, b.v));
}
template <class T>
inline Vec<T> Abs(const Vec<T>& x) {
  return Vec<T>(Eigen::internal::pabs(x.v));
}
// The square root instruction, correctly rounded as std::sqrt. (Eigen's psqrt, under its default
// EIGEN_FAST_MATH, is an estimate and Newton steps on AVX and AVX-512: an ulp off, subnormals
// flushed, NaN for +inf.)
template <class T>
inline Vec<T> Sqrt(const Vec<T>& x) {
  constexpr bool kFloat = std::is_same_v<T, float>;
#if defined(__AVX512F__)
  if constexpr (sizeof(x.v) == 64) {
    if constexpr (kFloat)
      return Vec<T>(_mm512_sqrt_ps(x.v));
    else
      return Vec<T>(_mm512_sqrt_pd(x.v));
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(x.v) == 32) {
    if constexpr (kFloat)
      return Vec<T>(_mm256_sqrt_ps(x.v));
    else
      return Vec<T>(_mm256_sqrt_pd(x.v));
  }
#endif
  if constexpr (sizeof(x.v) == 16) {
    if constexpr (kFloat)
      return Vec<T>(_mm_sqrt_ps(x.v));
    else
      return Vec<T>(_mm_sqrt_pd(x.v));
  }
}
// x = m 2^e with m in [0.5, 1) for finite nonzero x, lane by lane as std::frexp (Eigen's pfrexp).
template <class T>
inline Vec<T> Frexp(const Vec<T>& x, Vec<T>* e) {
  typename Vec<T>::Raw exponent;
  const Vec<T> m(Eigen::internal::pfrexp(x.v, exponent));
  *e = Vec<T>(exponent);
  return m;
}
// a * b + c with a single rounding, as the definitions rely on (error-free products such as
// Fma(x, x, -x*x)). Without the FMA instruction it falls back to the C library, lane by lane.
template <class T>
inline Vec<T> Fma(const Vec<T>& a, const Vec<T>& b, const Vec<T>& c) {
#if defined(__FMA__) || defined(__AVX512F__)
  return Vec<T>(Eigen::internal::pmadd(a.v, b.v, c.v));
#else
  Vec<T> r;
  for (int i = 0; i < Vec<T>::kLanes; ++i) r.v[i] = std::fma(a.v[i], b.v[i], c.v[i]);
  return r;
#endif
}

}  // namespace actserve::cpu

// Lane access for vectors (the scalar versions are in math/primitives.h).
template <class T>
struct actserve::math::LaneOps<actserve::cpu::Vec<T>> {
  using V = actserve::cpu::Vec<T>;
  static constexpr int kLanes = V::kLanes;
  static void Prefetch(const T* p) { __builtin_prefetch(p, 0, 3); }
  // `count` (<= kLanes) values from p, `fill` in the remaining lanes.
  static V Load(const T* p, long count, T fill) {
    if (count == kLanes) return V::Load(p);
    alignas(64) T buf[kLanes];
    for (int i = 0; i < kLanes; ++i) buf[i] = i < count ? p[i] : fill;
    return V::Load(buf);
  }
  // A gather instruction where the build has one and the offsets fit its 32-bit indices.
  static V LoadStrided(const T* p, long stride, long count, T fill) {
    if (count == kLanes && stride <= kMaxStride) {
#if defined(__AVX512F__)
      if constexpr (sizeof(typename V::Raw) == 64) {
        if (stride == 2) return LoadEven(p);
        if constexpr (std::is_same_v<T, float>)
          return V(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, Offsets<__m512i>(stride),
                                            p, sizeof(T)));
        else
          return V(_mm512_mask_i32gather_pd(_mm512_setzero_pd(), 0xFF, Offsets<__m256i>(stride), p,
                                            sizeof(T)));
      }
#endif
#if defined(__AVX2__)
      if constexpr (sizeof(typename V::Raw) == 32) {
        if constexpr (std::is_same_v<T, float>)
          return V(_mm256_i32gather_ps(p, Offsets<__m256i>(stride), sizeof(T)));
        else
          return V(_mm256_i32gather_pd(p, Offsets<__m128i>(stride), sizeof(T)));
      }
#endif
    }
    alignas(64) T buf[kLanes];
    for (int i = 0; i < kLanes; ++i) buf[i] = i < count ? p[i * stride] : fill;
    return V::Load(buf);
  }
  // A scatter instruction with AVX-512, lane by lane otherwise.
  static void StoreStrided(const V& v, T* p, long stride, long count) {
#if defined(__AVX512F__)
    if constexpr (sizeof(typename V::Raw) == 64) {
      if (count == kLanes && stride <= kMaxStride) {
        if (stride == 2) return StoreEven(v, p);
        if constexpr (std::is_same_v<T, float>)
          return _mm512_i32scatter_ps(p, Offsets<__m512i>(stride), v.v, sizeof(T));
        else
          return _mm512_i32scatter_pd(p, Offsets<__m256i>(stride), v.v, sizeof(T));
      }
    }
#endif
    for (long i = 0; i < count; ++i) p[i * stride] = v.Lane(i);
  }

 private:
#if defined(__AVX512F__)
  // Stride 2 (maxout's default groups) without gathers or scatters, which are slow on AMD: two
  // loads and a two-source permute; two permutes and masked stores. The masks keep p[2 kLanes - 1],
  // which may lie past the array, untouched.
  static V LoadEven(const T* p) {
    if constexpr (std::is_same_v<T, float>) {
      const __m512i even =
          _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
      return V(
          _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_maskz_loadu_ps(0x7FFF, p + 16)));
    } else {
      const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
      return V(
          _mm512_permutex2var_pd(_mm512_loadu_pd(p), even, _mm512_maskz_loadu_pd(0x7F, p + 8)));
    }
  }
  static void StoreEven(const V& v, T* p) {
    if constexpr (std::is_same_v<T, float>) {
      const __m512i lo = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
      const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
      _mm512_mask_storeu_ps(p, 0x5555, _mm512_permutexvar_ps(lo, v.v));
      _mm512_mask_storeu_ps(p + 16, 0x5555, _mm512_permutexvar_ps(hi, v.v));
    } else {
      const __m512i lo = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
      const __m512i hi = _mm512_add_epi64(lo, _mm512_set1_epi64(4));
      _mm512_mask_storeu_pd(p, 0x55, _mm512_permutexvar_pd(lo, v.v));
      _mm512_mask_storeu_pd(p + 8, 0x55, _mm512_permutexvar_pd(hi, v.v));
    }
  }
#endif
  static constexpr long kMaxStride = std::numeric_limits<int32_t>::max() / kLanes;
  // The lanes' element offsets 0, stride, 2 stride, ... as the int32 index register I (as wide
  // as the lane count needs) of a gather or scatter.
  template <class I>
  static I Offsets(long stride) {
    typedef int32_t Ints __attribute__((vector_size(64)));
    Ints o;
    for (int i = 0; i < 16; ++i) o[i] = static_cast<int32_t>(i * stride);
    I r;
    std::memcpy(&r, &o, sizeof(I));  // the low lanes
    return r;
  }
};

namespace actserve::cpu {

template <class T>
inline void StoreN(const Vec<T>& v, T* p, long count) {
  if (count == Vec<T>::kLanes) return v.Store(p);
  for (long i = 0; i < count; ++i) p[i] = v.Lane(i);
}
template <class T>
inline T ReduceSum(const Vec<T>& v) {
  T s = 0;
  for (int i = 0; i < Vec<T>::kLanes; ++i) s += v.Lane(i);
  return s;
}
template <class T>
inline T ReduceMaxNan(const Vec<T>& v) {
  T m = v.Lane(0);
  for (int i = 1; i < Vec<T>::kLanes; ++i) {
    if (v.Lane(i) > m || v.Lane(i) != v.Lane(i)) m = v.Lane(i);
  }
  return m;
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

// ---- 32-bit integer lanes, for counter-based generators (math/philox.h) ----

// A register of uint32_t lanes, as wide as the build's vectors.
#if defined(__AVX512F__)
typedef uint32_t U32Lanes __attribute__((vector_size(64)));
#elif defined(__AVX2__)
typedef uint32_t U32Lanes __attribute__((vector_size(32)));
#else
typedef uint32_t U32Lanes __attribute__((vector_size(16)));
#endif
inline constexpr int kU32Lanes = sizeof(U32Lanes) / sizeof(uint32_t);

// High and low 32 bits of each lane's 64-bit product a * m: two widening multiplies (even and
// odd lanes) and blends, where GCC's own vectorisation would use 64-bit multiplies.
struct U32MulHiLo {
  void operator()(U32Lanes a, uint32_t m, U32Lanes* hi, U32Lanes* lo) const {
#if defined(__AVX512F__)
    const __m512i av = reinterpret_cast<__m512i>(a), mv = _mm512_set1_epi32(static_cast<int>(m));
    const __m512i even = _mm512_mul_epu32(av, mv);
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(av, 32), mv);
    *lo = reinterpret_cast<U32Lanes>(
        _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)));
    *hi = reinterpret_cast<U32Lanes>(
        _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd));
#elif defined(__AVX2__)
    const __m256i av = reinterpret_cast<__m256i>(a), mv = _mm256_set1_epi32(static_cast<int>(m));
    const __m256i even = _mm256_mul_epu32(av, mv);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(av, 32), mv);
    *lo = reinterpret_cast<U32Lanes>(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA));
    *hi = reinterpret_cast<U32Lanes>(_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA));
#else
    for (int i = 0; i < kU32Lanes; ++i) {
      const uint64_t p = uint64_t{m} * a[i];
      (*hi)[i] = static_cast<uint32_t>(p >> 32);
      (*lo)[i] = static_cast<uint32_t>(p);
    }
#endif
  }
};

// libmvec entry points, named by the x86-64 vector function ABI: _ZGV{d,e}N{lanes}v_{name};
// d = AVX2 (256-bit), e = AVX-512 (512-bit). Narrower builds use the scalar libm lane by lane.
#define ACTSERVE_LIBMVEC_DECLARE(name)           \
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

ACTSERVE_VEC_MATH_FUNCTION(Log, log)
ACTSERVE_VEC_MATH_FUNCTION(LibmLog1p, log1p)
ACTSERVE_VEC_MATH_FUNCTION(Tanh, tanh)
ACTSERVE_VEC_MATH_FUNCTION(Atan, atan)
ACTSERVE_VEC_MATH_FUNCTION(Erfc, erfc)
ACTSERVE_VEC_MATH_FUNCTION(Sin, sin)
ACTSERVE_VEC_MATH_FUNCTION(Cos, cos)

namespace simd_internal {

// Taylor coefficients 1/k! of e^r, k = 0..13.
inline constexpr double kExpTaylor[] = {1.0,
                                        1.0,
                                        0.5,
                                        1.0 / 6,
                                        1.0 / 24,
                                        1.0 / 120,
                                        1.0 / 720,
                                        1.0 / 5040,
                                        1.0 / 40320,
                                        1.0 / 362880,
                                        1.0 / 3628800,
                                        1.0 / 39916800,
                                        1.0 / 479001600,
                                        1.0 / 6227020800};

// e^r for float on |r| <= ln 2 / 2: a degree-6 fit with float coefficients (mpmath, least
// squares on Chebyshev nodes with 1 + r fixed), 0.06 ulp; one term fewer than Taylor needs.
inline constexpr double kExpFloat[] = {1.0,          1.0,           0.499999881,  0.166665182,
                                       0.0416696481, 0.00836894661, 0.00137453259};

// 2^n for whole-number n in [min exponent - 1, max exponent], built from exponent bits.
template <class T>
inline Vec<T> Pow2(const Vec<T>& n) {
  using Int = std::conditional_t<std::is_same_v<T, float>, int32_t, int64_t>;
  constexpr int kMantissa = std::numeric_limits<T>::digits - 1;
  constexpr int kBias = std::numeric_limits<T>::max_exponent - 1;
  using IntRaw = typename Vec<T>::MaskRaw;
  IntRaw bits = (__builtin_convertvector(n.v, IntRaw) + static_cast<Int>(kBias)) << kMantissa;
  Vec<T> r;
  std::memcpy(&r.v, &bits, sizeof(bits));
  return r;
}

}  // namespace simd_internal

namespace simd_internal {

// The exponential's argument reduction: x = n ln 2 + r with n whole and |r| <= ln 2 / 2 (ln 2 in
// two parts, Cody-Waite), after clamping x to just past where e^x overflows or rounds to 0, so
// that r stays finite for infinite x (NaN stays NaN). kNonPositive: the caller guarantees x <= 0
// or NaN, and the clamp at the top is left out.
template <class T, bool kNonPositive = false>
inline void ReduceLn2(const Vec<T>& x, Vec<T>* n, Vec<T>* r) {
  using V = Vec<T>;
  constexpr bool kFloat = std::is_same_v<T, float>;
  constexpr double kLn2Hi = kFloat ? 0.693145751953125 : 0.693147180369123816490;
  constexpr double kLn2Lo = kFloat ? 1.428606765330187045e-06 : 1.90821492927058770002e-10;
  constexpr T kMax = kFloat ? 89.72283935546875 : 710.782712893384;    // ln of the largest + 1
  constexpr T kMin = kFloat ? -104.972084045410 : -746.1332191019411;  // below: 0, minus 1
  V c = Max(kNonPositive ? x : Min(x, V(kMax)), V(kMin));
  *n = V(Eigen::internal::print(c.v * static_cast<T>(1.44269504088896340736)));
  *r = Fma(*n, V(-kLn2Lo), Fma(*n, V(-kLn2Hi), c));
}

// p 2^n for whole n from ReduceLn2, rounded once where the result is subnormal; inf past the
// largest value, 0 below the smallest.
template <class T>
inline Vec<T> ScaleByPow2(const Vec<T>& p, const Vec<T>& n) {
#if defined(__AVX512F__)
  if constexpr (sizeof(p.v) == 64) {
    if constexpr (std::is_same_v<T, float>)
      return Vec<T>(_mm512_scalef_ps(p.v, n.v));
    else
      return Vec<T>(_mm512_scalef_pd(p.v, n.v));
  }
#endif
  // 2^n = 2^h * 2^(n-h) with h = floor(n/2): each factor stays a normal number.
  Vec<T> h(Eigen::internal::pfloor((n * Vec<T>(0.5)).v));
  return p * Pow2(h) * Pow2(n - h);
}

// (e^r - 1)/r for float on |r| <= ln 2 / 2: degree 5 with float coefficients and 1 fixed (mpmath,
// minimax by Lawson's iteration on Chebyshev nodes, coefficients rounded to float one at a
// time), 0.23 ulp; two terms fewer than Taylor needs.
inline constexpr double kExpm1OverRFloat[] = {1.0,          0.49999997,    0.166665465,
                                              0.0416674353, 0.00836627185, 0.00138706958};

// e^r - 1 over r: kExpm1OverRFloat for float; for double its Taylor series (terms 1/(k+1)!: as
// kExpTaylor from its second term, 13 of them), truncation below 0.01 ulp on |r| <= ln 2 / 2.
template <class T>
inline Vec<T> Expm1OverR(const Vec<T>& r) {
  if constexpr (std::is_same_v<T, float>) {
    return math::Polynomial(r, kExpm1OverRFloat);
  } else {
    constexpr int kTerms = 13;
    Vec<T> acc(kExpTaylor[kTerms]);
    for (int k = kTerms - 1; k >= 1; --k) acc = Fma(acc, r, Vec<T>(kExpTaylor[k]));
    return acc;
  }
}

}  // namespace simd_internal

// e^x, inlined (a libmvec call costs a third more): e^r by a polynomial (kExpFloat for float, 14
// Taylor terms for double: below 0.1 ulp on |r| <= ln 2 / 2), times 2^n (vscalef on AVX-512).
// Overflow gives inf, underflow 0, NaN stays NaN.
template <class T, bool kNonPositive = false>
inline Vec<T> Exp(const Vec<T>& x) {
  Vec<T> n, r;
  simd_internal::ReduceLn2<T, kNonPositive>(x, &n, &r);
  Vec<T> p = std::is_same_v<T, float> ? math::Polynomial(r, simd_internal::kExpFloat)
                                      : math::Polynomial(r, simd_internal::kExpTaylor);
  return simd_internal::ScaleByPow2(p, n);
}

// e^x for x <= 0 or NaN, one clamp cheaper than Exp; other x give unspecified values (lanes that
// a Select discards may hold them).
template <class T>
inline Vec<T> ExpNonPositive(const Vec<T>& x) {
  return Exp<T, true>(x);
}

// e^x - 1, inlined: 2^n (e^r - 1) + (2^n - 1). For n = 0 that is e^r - 1 itself, accurate for
// tiny x; otherwise |result| > 0.29 and the two roundings cost under 2 ulp. Where 2^n exceeds
// 1/ulp the -1 vanishes and 2^n (e^r - 1 + 1) is used, as 2^n - 1 alone may overflow. -1 below,
// inf above. kNonPositive: as in Exp, the caller guarantees x <= 0 or NaN (so n <= 0), and the
// clamp at the top and the large-n case are left out.
template <class T, bool kNonPositive = false>
inline Vec<T> Expm1(const Vec<T>& x) {
  using V = Vec<T>;
  V n, r;
  simd_internal::ReduceLn2<T, kNonPositive>(x, &n, &r);
  V p = r * simd_internal::Expm1OverR(r);
  V y;
  if constexpr (kNonPositive) {
    y = simd_internal::ScaleByPow2(p, n) + (simd_internal::ScaleByPow2(V(1), n) - V(1));
  } else {
    constexpr int kBig = std::numeric_limits<T>::digits + 1;
    const auto big = n > V(kBig);
    y = simd_internal::ScaleByPow2(Select(big, p + V(1), p), n) +
        Select(big, V(0), simd_internal::ScaleByPow2(V(1), n) - V(1));
  }
  return Select(x == V(0), x, y);  // -0 stays -0
}

// e^x - 1 for x <= 0 or NaN, cheaper than Expm1; other x give unspecified values (lanes that a
// Select discards may hold them).
template <class T>
inline Vec<T> Expm1NonPositive(const Vec<T>& x) {
  return Expm1<T, true>(x);
}

// ln(1 + x). float with AVX-512 and every lane in [+0, 1] (softplus and its relatives pass
// e^-|x|): inlined; elsewhere, and for the whole vector if any lane is outside, libmvec's.
// The inline path: u = 1 + x is in [1, 2]; clearing all but its top four mantissa bits gives
// c = 1 + i/16 (or 2), and ln(1 + x) = ln c + ln(1 + r) with r = d/c, d = (1 - c) + x (exact
// but for one rounding, so the bits of x that u rounded off are kept). Bits 19-23 of u index
// the tables 1/c and ln c, two registers each (vpermt2ps): i + 16 in [1, 2), 0 for u = 2.
// ln(1 + r) = r P(r) on [-2^-20, 1/16], P fitted with float coefficients (mpmath, least squares
// on Chebyshev nodes, P(0) = 1): 0.005 ulp. Within 2 ulp.
template <class T>
inline Vec<T> Log1p(const Vec<T>& x) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && sizeof(x.v) == 64) {
    // As unsigned integers, the floats in [+0, 1] are the bit patterns up to 1.0f's: -0, other
    // negatives and NaN have larger ones.
    const __mmask16 inside = _mm512_cmp_epu32_mask(_mm512_castps_si512(x.v),
                                                   _mm512_set1_epi32(0x3F800000), _MM_CMPINT_LE);
    if (inside == 0xFFFF) {
      using V = Vec<float>;
      // Entry 0: c = 2; entries 16 + i: c = 1 + i/16; the rest are not reached.
      alignas(64) static constexpr float kInvC[32] = {
          0.5,         0,           0,           0,           0,           0,           0,
          0,           0,           0,           0,           0,           0,           0,
          0,           0,           1,           0.941176474, 0.888888896, 0.842105269, 0.800000012,
          0.761904776, 0.727272749, 0.695652187, 0.666666687, 0.639999986, 0.615384638, 0.592592597,
          0.571428597, 0.551724136, 0.533333361, 0.516129017};
      alignas(64) static constexpr float kLnC[32] = {
          0.693147182, 0,           0,           0,           0,           0,
          0,           0,           0,           0,           0,           0,
          0,           0,           0,           0,           0,           0.0606246218,
          0.117783032, 0.171850264, 0.223143548, 0.271933705, 0.318453729, 0.362905502,
          0.405465096, 0.446287096, 0.485507816, 0.523248136, 0.559615791, 0.594707131,
          0.628608644, 0.66139847};
      constexpr double kP[] = {1, -0.499999851, 0.333309501, -0.248820215, 0.176746339};
      const V one(1.0);
      const __m512i u = _mm512_castps_si512((one + x).v);
      const __m512i index = _mm512_srli_epi32(u, 19);  // vpermt2ps reads its low five bits
      const V c(_mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32(~0x7FFFF))));
      const V r = ((one - c) + x) * V(_mm512_permutex2var_ps(_mm512_load_ps(kInvC), index,
                                                             _mm512_load_ps(kInvC + 16)));
      const V ln_c(_mm512_permutex2var_ps(_mm512_load_ps(kLnC), index, _mm512_load_ps(kLnC + 16)));
      return ln_c + r * math::Polynomial(r, kP);
    }
  }
#endif
  return LibmLog1p(x);
}

#undef ACTSERVE_VEC_MATH_FUNCTION
#undef ACTSERVE_LIBMVEC_256
#undef ACTSERVE_LIBMVEC_512
#undef ACTSERVE_LIBMVEC_DECLARE

}  // namespace actserve::cpu

#endif  // ACTSERVE_KERNELS_CPU_SIMD_H_
