#include "kernels/math/philox.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>

#include "gtest/gtest.h"

namespace actserve::math {
namespace {

// Known-answer tests from the Random123 distribution (kat_vectors, philox4x32 10 rounds).
TEST(PhiloxTest, MatchesRandom123KnownAnswers) {
  PhiloxBlock zero = Philox4x32(0, 0, 0, 0, 0, 0);
  EXPECT_EQ(zero.w[0], 0x6627e8d5u);
  EXPECT_EQ(zero.w[1], 0xe169c58du);
  EXPECT_EQ(zero.w[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.w[3], 0x9b00dbd8u);
  PhiloxBlock ones = Philox4x32(~0u, ~0u, ~0u, ~0u, ~0u, ~0u);
  EXPECT_EQ(ones.w[0], 0x408f276du);
  EXPECT_EQ(ones.w[1], 0x41c83b0eu);
  EXPECT_EQ(ones.w[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.w[3], 0x6d5451fdu);
  PhiloxBlock pi =
      Philox4x32(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(pi.w[0], 0xd16cfe09u);
  EXPECT_EQ(pi.w[1], 0x94fdccebu);
  EXPECT_EQ(pi.w[2], 0x5001e420u);
  EXPECT_EQ(pi.w[3], 0x24126ea1u);
}

TEST(PhiloxTest, UniformSamplesHaveTheMomentsOfU01) {
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double u = UniformSample(7, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  EXPECT_NEAR(sum2 / n - 0.25, 1.0 / 12, 0.005);
}

TEST(PhiloxTest, NormalSamplesHaveTheMomentsOfN01) {
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double z = NormalSample(11, i);
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.02);
}

// The largest error of SinCos2Pi<T> in units of |exact| times T's epsilon over every `step`-th
// 24-bit angle, against long double evaluated after the same exact reduction (an unreduced 2 pi f
// in long double is itself off by more than an ulp of sin near its zeros). Exact zeros must come
// out as zeros.
template <class T>
double WorstSinCos2PiUlp(uint32_t step) {
  double worst = 0;
  for (uint32_t k = 0; k < (1u << 24); k += step) {
    const T f = static_cast<T>(k) * static_cast<T>(0x1p-24);
    T s, c;
    SinCos2Pi(f, &s, &c);
    const long double q = nearbyintl(4.0L * f), t = f - q / 4;
    const long double st = sinl(2 * M_PIl * t), ct = cosl(2 * M_PIl * t);
    const int quarter = static_cast<int>(q) % 4;
    const long double rs = quarter == 0 ? st : quarter == 1 ? ct : quarter == 2 ? -st : -ct;
    const long double rc = quarter == 0 ? ct : quarter == 1 ? -st : quarter == 2 ? -ct : st;
    for (auto [ours, ref] : {std::pair<T, long double>{s, rs}, {c, rc}}) {
      if (ref == 0) {
        EXPECT_EQ(ours, 0) << f;
        continue;
      }
      worst = std::max<double>(
          worst, fabsl(ours - ref) / (fabsl(ref) * std::numeric_limits<T>::epsilon()));
    }
  }
  return worst;
}

TEST(PhiloxTest, SinCos2PiIsWithinOneUlpInDoubleAndTwoInFloatAtEveryAngle) {
  const double in_double = WorstSinCos2PiUlp<double>(3), in_float = WorstSinCos2PiUlp<float>(1);
  std::printf("SinCos2Pi: worst %.3f ulp in double, %.3f in float\n", in_double, in_float);
  EXPECT_LE(in_double, 1.0);
  EXPECT_LE(in_float, 2.0);  // the float rounding of its coefficients and steps
}

// Every input: u = k 2^-24, k = 1 .. 2^24, against long double.
TEST(PhiloxTest, LogOfUnitIsWithinTwoUlpOfFloat) {
  double worst = 0;
  for (uint32_t k = 1; k < (1u << 24); ++k) {
    const float u = static_cast<float>(k) * 0x1p-24f;
    const long double ref = logl(static_cast<long double>(u));
    const float ours = LogOfUnit(u);
    const long double ulp = std::ldexp(1.0L, std::ilogb(static_cast<float>(ref)) - 23);
    worst = std::max<double>(worst, fabsl(ours - ref) / ulp);
  }
  EXPECT_EQ(LogOfUnit(1.0f), 0.0f);
  EXPECT_LE(worst, 2.0);
  std::printf("LogOfUnit: worst %.3f ulp\n", worst);
}

TEST(PhiloxTest, SamplesDependOnSeedAndIndexOnly) {
  EXPECT_EQ(UniformSample(3, 1000), UniformSample(3, 1000));
  EXPECT_NE(UniformSample(3, 1000), UniformSample(4, 1000));
  EXPECT_NE(UniformSample(3, 1000), UniformSample(3, 1001));
}

}  // namespace
}  // namespace actserve::math
