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

// Samples come in blocks of four: block b holds elements 4b .. 4b+3.
//
// Uniform: element 4b + j is word j of Philox(seed, b), as a 24-bit U[0,1).
ACTSERVE_HD void UniformBlock(uint64_t seed, uint64_t block, double out[4]) {
  PhiloxBlock p = PhiloxAt(seed, block);
  for (int j = 0; j < 4; ++j) out[j] = ToUnit(p.w[j]);
}

// Normal: Box-Muller on words (0, 1) and (2, 3) of Philox(seed, b), each pair giving
// r cos(theta) and r sin(theta) for elements 4b + 2k and 4b + 2k + 1.
ACTSERVE_HD void NormalBlock(uint64_t seed, uint64_t block, double out[4]) {
  PhiloxBlock p = PhiloxAt(seed, block);
  for (int k = 0; k < 2; ++k) {
    double u1 = ToUnit(p.w[2 * k]) + 1.0 / 16777216.0;  // (0, 1]: log stays finite
    double theta = 6.283185307179586476925286766559 * ToUnit(p.w[2 * k + 1]);
    double r = std::sqrt(-2.0 * std::log(u1));
    out[2 * k] = r * std::cos(theta);
    out[2 * k + 1] = r * std::sin(theta);
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
