// The noise samples of math/philox.h for a run of elements, vectorised: the Philox words of many
// blocks are computed side by side on SIMD lanes (math::PhiloxRounds on U32Lanes) and
// Box-Muller runs on a register of pairs at a time with the same template as the scalar
// definition. Values equal math::NormalBlock's and math::UniformBlock's exactly.
#ifndef ACTSERVE_KERNELS_CPU_NOISE_H_
#define ACTSERVE_KERNELS_CPU_NOISE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/catalog/element_rules.h"
#include "kernels/cpu/simd.h"
#include "kernels/math/philox.h"

namespace actserve::cpu {

namespace noise_internal {

// Blocks per batch: 64 blocks, 256 samples.
inline constexpr int kBatch = 64;

// Philox's rounds are a chain of dependent multiplies; kChains registers of blocks side by side
// keep the multipliers busy instead of waiting on one chain's latency.
inline constexpr int kChains = 4;
struct WordChains {
  U32Lanes r[kChains];
};
inline WordChains operator^(const WordChains& a, const WordChains& b) {
  WordChains o;
  for (int i = 0; i < kChains; ++i) o.r[i] = a.r[i] ^ b.r[i];
  return o;
}
inline WordChains& operator+=(WordChains& a, uint32_t k) {
  for (int i = 0; i < kChains; ++i) a.r[i] += k;
  return a;
}
struct ChainsMulHiLo {
  void operator()(const WordChains& a, uint32_t m, WordChains* hi, WordChains* lo) const {
    for (int i = 0; i < kChains; ++i) U32MulHiLo{}(a.r[i], m, &hi->r[i], &lo->r[i]);
  }
};

// Philox words of blocks first .. first + count - 1, word j of block b at w[j][b - first]
// (math::PhiloxRounds on WordChains); the rest of the batch is zero.
inline void PhiloxWords(uint64_t seed, uint64_t first, int count, uint32_t (*w)[kBatch]) {
  constexpr int kStep = kChains * kU32Lanes;
  static_assert(kBatch % kStep == 0);
  int b = 0;
  for (; b < count; b += kStep) {
    alignas(64) uint32_t lo[kStep], hi[kStep];
    for (int l = 0; l < kStep; ++l) {
      const uint64_t block = first + b + l;
      lo[l] = static_cast<uint32_t>(block);
      hi[l] = static_cast<uint32_t>(block >> 32);
    }
    WordChains c0, c1, c2 = {}, c3 = {}, k0 = {}, k1 = {};
    std::memcpy(&c0, lo, sizeof(c0));
    std::memcpy(&c1, hi, sizeof(c1));
    k0 += static_cast<uint32_t>(seed);
    k1 += static_cast<uint32_t>(seed >> 32);
    math::PhiloxRounds(c0, c1, c2, c3, k0, k1, ChainsMulHiLo{});
    std::memcpy(&w[0][b], &c0, sizeof(c0));
    std::memcpy(&w[1][b], &c1, sizeof(c1));
    std::memcpy(&w[2][b], &c2, sizeof(c2));
    std::memcpy(&w[3][b], &c3, sizeof(c3));
  }
  for (int j = 0; j < 4; ++j) std::fill(w[j] + b, w[j] + kBatch, 0u);
}

// Samples of `count` whole blocks starting at block `first`, in element order.
template <class T>
void Blocks(NoiseDraw draw, uint64_t seed, uint64_t first, int count, T* out) {
  alignas(64) uint32_t w[4][kBatch];
  PhiloxWords(seed, first, count, w);
  if (draw == NoiseDraw::kUniform) {
    for (int b = 0; b < count; ++b) {
      for (int j = 0; j < 4; ++j) out[4 * b + j] = static_cast<T>(math::ToUnit(w[j][b]));
    }
    return;
  }
  // Pair k of block b is words (2k, 2k + 1): elements 4b + 2k and 4b + 2k + 1; math::BoxMuller
  // in float on a register of blocks at a time.
  using F = Vec<float>;
  constexpr int L = F::kLanes;
  static_assert(kBatch % L == 0);
  alignas(64) float z[4][kBatch];
  for (int k = 0; k < 2; ++k) {
    for (int b = 0; b < count; b += L) {
      alignas(64) float u1[L], u2[L];
      for (int l = 0; l < L; ++l) {
        u1[l] = math::ToUnitPositive<float>(w[2 * k][b + l]);
        u2[l] = math::ToUnit<float>(w[2 * k + 1][b + l]);
      }
      F z0, z1;
      math::BoxMuller(F::Load(u1), F::Load(u2), &z0, &z1);
      z0.Store(&z[2 * k][b]);
      z1.Store(&z[2 * k + 1][b]);
    }
  }
  for (int b = 0; b < count; ++b) {
    for (int j = 0; j < 4; ++j) out[4 * b + j] = static_cast<T>(z[j][b]);
  }
}

}  // namespace noise_internal

// out[i] = element (begin + i)'s sample of `draw` (not kConstant) for `seed`, i < n.
template <class T>
void FillNoise(NoiseDraw draw, uint64_t seed, int64_t begin, int64_t n, T* out) {
  const int64_t end = begin + n;
  int64_t i = begin;
  // Partial blocks at either end come from the scalar definition.
  auto partial = [&](int64_t stop) {
    double block[4];
    NoiseBlock(draw, seed, static_cast<uint64_t>(i) / 4, block);
    for (; i < stop; ++i) out[i - begin] = static_cast<T>(block[i % 4]);
  };
  if (i % 4 != 0) partial(std::min(end, (i / 4 + 1) * 4));
  while (end - i >= 4) {
    const int count = static_cast<int>(std::min<int64_t>(noise_internal::kBatch, (end - i) / 4));
    noise_internal::Blocks(draw, seed, static_cast<uint64_t>(i) / 4, count, out + (i - begin));
    i += 4 * int64_t{count};
  }
  if (i < end) partial(end);
}

}  // namespace actserve::cpu

#endif  // ACTSERVE_KERNELS_CPU_NOISE_H_
