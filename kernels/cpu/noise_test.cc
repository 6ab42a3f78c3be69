#include "kernels/cpu/noise.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace actserve::cpu {
namespace {

// The scalar definition's sample of element i.
double Reference(NoiseDraw draw, uint64_t seed, int64_t i) {
  double block[4];
  NoiseBlock(draw, seed, static_cast<uint64_t>(i) / 4, block);
  return block[i % 4];
}

// Runs that start and end inside blocks and span several batches.
struct Span {
  int64_t begin, n;
};
constexpr Span kRuns[] = {{0, 1},   {0, 4},    {3, 2},         {5, 7},
                          {1, 255}, {2, 1000}, {1 << 20, 300}, {(int64_t{1} << 33) + 1, 67}};

TEST(NoiseTest, UniformMatchesTheScalarDefinitionExactly) {
  for (const Span& r : kRuns) {
    std::vector<float> f(r.n);
    std::vector<double> d(r.n);
    FillNoise(NoiseDraw::kUniform, 42, r.begin, r.n, f.data());
    FillNoise(NoiseDraw::kUniform, 42, r.begin, r.n, d.data());
    for (int64_t i = 0; i < r.n; ++i) {
      const double ref = Reference(NoiseDraw::kUniform, 42, r.begin + i);
      ASSERT_EQ(d[i], ref) << r.begin + i;
      ASSERT_EQ(f[i], static_cast<float>(ref)) << r.begin + i;
    }
  }
}

TEST(NoiseTest, NormalMatchesTheScalarDefinitionExactly) {
  for (const Span& r : kRuns) {
    for (uint64_t seed : {uint64_t{0}, uint64_t{7}, ~uint64_t{0}}) {
      std::vector<float> f(r.n);
      std::vector<double> d(r.n);
      FillNoise(NoiseDraw::kStandardNormal, seed, r.begin, r.n, f.data());
      FillNoise(NoiseDraw::kStandardNormal, seed, r.begin, r.n, d.data());
      for (int64_t i = 0; i < r.n; ++i) {
        const double ref = Reference(NoiseDraw::kStandardNormal, seed, r.begin + i);
        ASSERT_EQ(d[i], ref) << "element " << r.begin + i << " seed " << seed;
        ASSERT_EQ(f[i], static_cast<float>(ref)) << "element " << r.begin + i << " seed " << seed;
      }
    }
  }
}

// Box-Muller on vectors gives the scalar definition's bits for every 24-bit u1 (the logarithm's
// whole domain, 2^-24 to 1), each with a different u2 that walks every quarter turn.
TEST(NoiseTest, BoxMullerOnVectorsEqualsTheScalarsForEveryRadius) {
  using F = Vec<float>;
  constexpr int L = F::kLanes;
  for (uint32_t k0 = 0; k0 < (1u << 24); k0 += L) {
    alignas(64) float u1[L], u2[L], z0[L], z1[L];
    for (int l = 0; l < L; ++l) {
      const uint32_t k = k0 + l;
      u1[l] = math::ToUnitPositive<float>(k << 8);
      u2[l] = math::ToUnit<float>((k * 2654435761u) & ~0xFFu);
    }
    F v0, v1;
    math::BoxMuller(F::Load(u1), F::Load(u2), &v0, &v1);
    v0.Store(z0);
    v1.Store(z1);
    for (int l = 0; l < L; ++l) {
      float s0, s1;
      math::BoxMuller(u1[l], u2[l], &s0, &s1);
      ASSERT_EQ(z0[l], s0) << "u1 " << u1[l] << " u2 " << u2[l];
      ASSERT_EQ(z1[l], s1) << "u1 " << u1[l] << " u2 " << u2[l];
    }
  }
}

}  // namespace
}  // namespace actserve::cpu
