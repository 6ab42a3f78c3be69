// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11): the sample for tensor
// element i depends only on (seed, i), so backward regenerates forward's noise without storing it,
// any thread or device produces the same numbers, and work can be split anywhere.
#ifndef ACTSERVE_KERNELS_MATH_PHILOX_H_
#define ACTSERVE_KERNELS_MATH_PHILOX_H_

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/math/primitives.h"

namespace actserve::math {

struct PhiloxBlock {
  uint32_t w[4];
};

// Philox's ten rounds on counter (c0..c3) and key (k0, k1), for words W that are uint32_t or a
// SIMD vector of them (cpu/noise.h runs many blocks side by side). mul_hi_lo(a, m, &hi, &lo)
// gives the high and low 32 bits of the 64-bit product a * m in each lane.
template <class W, class MulHiLo>
ACTSERVE_HD void PhiloxRounds(W& c0, W& c1, W& c2, W& c3, W k0, W k1, MulHiLo mul_hi_lo) {
  for (int round = 0; round < 10; ++round) {
    W hi0, lo0, hi2, lo2;
    mul_hi_lo(c0, 0xD2511F53u, &hi0, &lo0);
    mul_hi_lo(c2, 0xCD9E8D57u, &hi2, &lo2);
    const W n0 = hi2 ^ c1 ^ k0;
    const W n2 = hi0 ^ c3 ^ k1;
    c1 = lo2;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// mul_hi_lo for PhiloxRounds on single words.
struct ScalarMulHiLo {
  ACTSERVE_HD void operator()(uint32_t a, uint32_t m, uint32_t* hi, uint32_t* lo) const {
    const uint64_t p = uint64_t{m} * a;
    *hi = static_cast<uint32_t>(p >> 32);
    *lo = static_cast<uint32_t>(p);
  }
};

// Philox4x32 with 10 rounds on counter (c0..c3) and key (k0, k1).
ACTSERVE_HD PhiloxBlock Philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                   uint32_t k1) {
  PhiloxRounds(c0, c1, c2, c3, k0, k1, ScalarMulHiLo{});
  return {{c0, c1, c2, c3}};
}

// The block for (seed, block index): counter = index, key = seed.
ACTSERVE_HD PhiloxBlock PhiloxAt(uint64_t seed, uint64_t block) {
  return Philox4x32(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0, 0,
                    static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// A 24-bit uniform in [0, 1): exact in float and double alike.
template <class T = double>
ACTSERVE_HD T ToUnit(uint32_t w) {
  return static_cast<T>(w >> 8) * static_cast<T>(1.0 / 16777216.0);
}

// The same, moved up one step to (0, 1]: Box-Muller's ln u1 stays finite.
template <class T = double>
ACTSERVE_HD T ToUnitPositive(uint32_t w) {
  return ToUnit<T>(w) + static_cast<T>(1.0 / 16777216.0);
}

// Samples come in blocks of four: block b holds elements 4b .. 4b+3.
//
// Uniform: element 4b + j is word j of Philox(seed, b), as a 24-bit U[0,1).
ACTSERVE_HD void UniformBlock(uint64_t seed, uint64_t block, double out[4]) {
  PhiloxBlock p = PhiloxAt(seed, block);
  for (int j = 0; j < 4; ++j) out[j] = ToUnit(p.w[j]);
}

// sin(2 pi f) and cos(2 pi f) for f in [0, 1] a multiple of 2^-24 (a 24-bit uniform), within
// 1 ulp of the exact values in double and 2 in float, also near their zeros: f = q/4 + t with
// q = round(4f) and t exact (|t| <= 1/8), then Taylor series in t (|2 pi t| <= pi/4) and the
// quarter turns q. The same code for scalars and vectors (the magic constant rounds 4f to a whole
// number in either width).
template <class V>
ACTSERVE_HD void SinCos2Pi(const V& f, V* sin_out, V* cos_out) {
  constexpr bool kFloat = std::is_same_v<ScalarOf<V>, float>;
  const V magic(kFloat ? 12582912.0 : 6755399441055744.0);  // 1.5 * 2^(mantissa bits)
  const V q = (f * V(4) + magic) - magic;
  const V t = f - q * V(0.25);
  const V t2 = t * t;
  // (-1)^n (2 pi)^(2n+1) / (2n+1)! and (-1)^n (2 pi)^(2n) / (2n)!, n = 0..8: truncation below
  // 0.1 ulp with 6 terms in float and 9 in double.
  constexpr double kSin[] = {6.283185307179586,  -41.341702240399755, 81.60524927607504,
                             -76.70585975306136, 42.058693944897634,  -15.094642576822984,
                             3.8199525848482803, -0.7181223017785001, 0.10422916220813978};
  constexpr double kCos[] = {1.0,
                             -19.739208802178716,
                             64.93939402266828,
                             -85.45681720669371,
                             60.24464137187664,
                             -26.426256783374388,
                             7.903536371318465,
                             -1.7143907110886711,
                             0.282005968455791};
  const V s = t * Polynomial(t2, kSin, kFloat ? 6 : 9);
  const V c = Polynomial(t2, kCos, kFloat ? 6 : 9);
  // sin(x + q pi/2), cos(x + q pi/2) for q = 0..4 (4 is 0 again).
  const auto q1 = q == V(1), q2 = q == V(2), q3 = q == V(3);
  *sin_out = Select(q1, c, Select(q2, -s, Select(q3, -c, s)));
  *cos_out = Select(q1, -s, Select(q2, -c, Select(q3, s, c)));
}

// ln u for u in (0, 1] a multiple of 2^-24 (ToUnitPositive's values), in float: u = m 2^e with
// m in [sqrt(1/2), sqrt(2)), ln(1 + f) for f = m - 1 by Cephes' logf polynomial (within 2 ulp),
// plus e ln 2 in two parts. Every sum is inside an Fma and no product feeds a plain sum, so a
// compiler cannot contract anything: scalars, CPU vectors and CUDA give the same bits.
template <class V>
ACTSERVE_HD V LogOfUnit(const V& u) {
  V e;
  V m = Frexp(u, &e);  // m in [0.5, 1)
  const auto low = m < V(0.707106781186547524);
  m = Select(low, m + m, m);
  e = Select(low, e - V(1), e);
  const V f = m - V(1);  // exact
  const V f2 = f * f;
  constexpr float kP[] = {3.3333331174e-1f,  -2.4999993993e-1f, 2.0000714765e-1f,
                          -1.6668057665e-1f, 1.4249322787e-1f,  -1.2420140846e-1f,
                          1.1676998740e-1f,  -1.1514610310e-1f, 7.0376836292e-2f};
  const V ln1pf = Fma(f2 * f, Polynomial(f, kP), Fma(f2, V(-0.5), f));
  // ln 2 = 0.693359375 (few bits: e times it is exact) - 2.12194440e-4.
  return Fma(e, V(0.693359375), Fma(e, V(-2.12194440e-4), ln1pf));
}

// Box-Muller in float: two independent N(0, 1) samples r cos(theta), r sin(theta) from uniforms
// u1 in (0, 1] and u2 in [0, 1) (24-bit, as ToUnitPositive and ToUnit give), with
// r = sqrt(-2 ln u1), theta = 2 pi u2. The inputs have 24 bits, so float is their precision;
// the sample is defined as these float operations (LogOfUnit, the correctly rounded square root,
// SinCos2Pi, products), which every backend evaluates to the same bits, for float and double
// tensors alike. V is float or a vector of floats: cpu/noise.h runs it a register of pairs at a
// time.
template <class V>
ACTSERVE_HD void BoxMuller(const V& u1, const V& u2, V* z0, V* z1) {
  const V r = Sqrt(V(-2) * LogOfUnit(u1));
  V s, c;
  SinCos2Pi(u2, &s, &c);
  *z0 = r * c;
  *z1 = r * s;
}

// Normal: Box-Muller on words (0, 1) and (2, 3) of Philox(seed, b), each pair giving
// r cos(theta) and r sin(theta) for elements 4b + 2k and 4b + 2k + 1 (float values, widened).
ACTSERVE_HD void NormalBlock(uint64_t seed, uint64_t block, double out[4]) {
  PhiloxBlock p = PhiloxAt(seed, block);
  for (int k = 0; k < 2; ++k) {
    float z0, z1;
    BoxMuller(ToUnitPositive<float>(p.w[2 * k]), ToUnit<float>(p.w[2 * k + 1]), &z0, &z1);
    out[2 * k] = z0;
    out[2 * k + 1] = z1;
  }
}

// One element's sample (the blocks above, for a single index).
ACTSERVE_HD double UniformSample(uint64_t seed, uint64_t index) {
  double b[4];
  UniformBlock(seed, index / 4, b);
  return b[index % 4];
}
ACTSERVE_HD double NormalSample(uint64_t seed, uint64_t index) {
  double b[4];
  NormalBlock(seed, index / 4, b);
  return b[index % 4];
}

}  // namespace actserve::math

#endif  // ACTSERVE_KERNELS_MATH_PHILOX_H_
