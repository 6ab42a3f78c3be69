// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11): the sample for tensor
// element i depends only on (seed, i), so backward regenerates forward's noise without storing it,
// any thread or device produces the same numbers, and work can be split anywhere.
#ifndef ACTSERVE_KERNELS_MATH_PHILOX_H_
#define ACTSERVE_KERNELS_MATH_PHILOX_H_

#include <cmath>
#include <cstdint>

#include "kernels/math/primitives.h"

namespace actserve::math {

struct PhiloxBlock {
  uint32_t w[4];
};

// Philox4x32 with 10 rounds on counter (c0..c3) and key (k0, k1).
ACTSERVE_HD PhiloxBlock Philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                   uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t{0xD2511F53u} * c0;
    uint64_t p1 = uint64_t{0xCD9E8D57u} * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// The block for (seed, block index): counter = index, key = seed.
ACTSERVE_HD PhiloxBlock PhiloxAt(uint64_t seed, uint64_t block) {
  return Philox4x32(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0, 0,
                    static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// A 24-bit uniform in [0, 1): exact in float and double alike.
ACTSERVE_HD double ToUnit(uint32_t w) { return static_cast<double>(w >> 8) * (1.0 / 16777216.0); }

// U[0,1) for element `index`: word index % 4 of block index / 4.
ACTSERVE_HD double UniformSample(uint64_t seed, uint64_t index) {
  return ToUnit(PhiloxAt(seed, index / 4).w[index % 4]);
}

// N(0,1) for element `index` by Box-Muller on words 2(index % 2), 2(index % 2) + 1 of block
// index / 2.
ACTSERVE_HD double NormalSample(uint64_t seed, uint64_t index) {
  PhiloxBlock b = PhiloxAt(seed, index / 2);
  int j = 2 * static_cast<int>(index % 2);
  double u1 = ToUnit(b.w[j]) + 1.0 / 16777216.0;  // (0, 1]: log stays finite
  double u2 = ToUnit(b.w[j + 1]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925286766559 * u2);
}

}  // namespace actserve::math

#endif  // ACTSERVE_KERNELS_MATH_PHILOX_H_
