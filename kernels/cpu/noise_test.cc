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

// The vector logarithm (libmvec) and the scalar one (libm) may differ in the last bit; every
// other step is the same code. 4 ulp of double leaves room for that, and catches any mix-up of
// pairs or lanes (those are off by O(1)).
TEST(NoiseTest, NormalMatchesTheScalarDefinitionToTheLastBits) {
  for (const Span& r : kRuns) {
    for (uint64_t seed : {uint64_t{0}, uint64_t{7}, ~uint64_t{0}}) {
      std::vector<float> f(r.n);
      std::vector<double> d(r.n);
      FillNoise(NoiseDraw::kStandardNormal, seed, r.begin, r.n, f.data());
      FillNoise(NoiseDraw::kStandardNormal, seed, r.begin, r.n, d.data());
      for (int64_t i = 0; i < r.n; ++i) {
        const double ref = Reference(NoiseDraw::kStandardNormal, seed, r.begin + i);
        ASSERT_LE(std::fabs(d[i] - ref),
                  4 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(ref), 1e-300))
            << "element " << r.begin + i << " seed " << seed;
        ASSERT_LE(std::fabs(f[i] - static_cast<float>(ref)),
                  std::numeric_limits<float>::epsilon() * std::fabs(static_cast<float>(ref)))
            << "element " << r.begin + i << " seed " << seed;
      }
    }
  }
}

}  // namespace
}  // namespace actserve::cpu
