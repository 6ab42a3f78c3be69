#include "client/chart/ticks.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve::client {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;

// The mantissa of a 1-2-5 step: 1, 2 or 5 (or 10, which is 1 of the next decade).
double Mantissa(double step) { return step / std::pow(10, std::floor(std::log10(step) + 1e-9)); }

TEST(LinearAxisTest, UnitRangeStepsByTwoTenths) {
  Axis a = LinearAxis(0, 1);
  EXPECT_DOUBLE_EQ(a.step, 0.2);
  ASSERT_EQ(a.ticks.size(), 6u);
  EXPECT_DOUBLE_EQ(a.ticks[3], 0.6000000000000001);
}

TEST(LinearAxisTest, ASymmetricRangeHasATickAtExactlyZero) {
  Axis a = LinearAxis(-5, 5);
  EXPECT_DOUBLE_EQ(a.step, 2);
  EXPECT_THAT(a.ticks, ElementsAre(-4, -2, 0, 2, 4));
  EXPECT_EQ(a.lo, -5);
  EXPECT_EQ(a.hi, 5);
}

TEST(LinearAxisTest, WideningEndsTheRangeOnTicks) {
  Axis a = LinearAxis(0.3, 97, 5, /*widen=*/true);
  EXPECT_DOUBLE_EQ(a.step, 20);
  EXPECT_EQ(a.lo, 0);
  EXPECT_EQ(a.hi, 100);
  EXPECT_THAT(a.ticks, ElementsAre(0, 20, 40, 60, 80, 100));
}

TEST(LinearAxisTest, AnEmptyRangeBecomesOneUnitWide) {
  Axis a = LinearAxis(3, 3);
  EXPECT_EQ(a.lo, 3);
  EXPECT_EQ(a.hi, 4);
  EXPECT_FALSE(a.ticks.empty());
}

// Over random ranges of every scale: the step is 1, 2 or 5 times a power of ten, there are
// between 2 and 11 ticks, all inside the range, evenly spaced, and 0 is one when the range spans
// it.
TEST(LinearAxisTest, EveryRangeGetsAFewOneTwoFiveTicksInside) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-8, 8), unit(-1, 1);
  for (int i = 0; i < 20000; ++i) {
    const double scale = std::pow(10, exponent(rng));
    double lo = unit(rng) * scale, hi = unit(rng) * scale;
    if (lo > hi) std::swap(lo, hi);
    if (hi - lo < 1e-12 * scale) continue;
    for (bool widen : {false, true}) {
      Axis a = LinearAxis(lo, hi, 5, widen);
      const std::string where = absl::StrCat("[", lo, ", ", hi, "]");
      EXPECT_THAT(Mantissa(a.step), ::testing::AnyOf(DoubleNear(1, 1e-9), DoubleNear(2, 1e-9),
                                                     DoubleNear(5, 1e-9), DoubleNear(10, 1e-9)))
          << where;
      EXPECT_GE(a.ticks.size(), 2u) << where;
      EXPECT_LE(a.ticks.size(), 11u) << where;
      for (size_t t = 0; t < a.ticks.size(); ++t) {
        EXPECT_GE(a.ticks[t], a.lo) << where;
        EXPECT_LE(a.ticks[t], a.hi) << where;
        if (t > 0) {
          EXPECT_NEAR(a.ticks[t] - a.ticks[t - 1], a.step, 1e-6 * a.step) << where;
        }
      }
      if (widen) {
        EXPECT_LE(a.lo, lo) << where;
        EXPECT_GE(a.hi, hi) << where;
        EXPECT_EQ(a.ticks.front(), a.lo) << where;
        EXPECT_EQ(a.ticks.back(), a.hi) << where;
      }
      if (a.lo < 0 && a.hi > 0) {
        EXPECT_THAT(a.ticks, ::testing::Contains(0.0)) << where;
      }
    }
  }
}

TEST(LogAxisTest, ManyDecadesTickAtPowersOfTen) {
  Axis a = LogAxis(0.003, 2);
  EXPECT_DOUBLE_EQ(a.lo, 1e-3);
  EXPECT_DOUBLE_EQ(a.hi, 10);
  ASSERT_EQ(a.ticks.size(), 5u);
  EXPECT_DOUBLE_EQ(a.ticks[0], 1e-3);
  EXPECT_DOUBLE_EQ(a.ticks[4], 10);
}

TEST(LogAxisTest, ADecadeOrTwoAlsoTicksAtTwoAndFiveTimes) {
  Axis a = LogAxis(0.15, 0.9);
  EXPECT_DOUBLE_EQ(a.lo, 0.1);
  EXPECT_DOUBLE_EQ(a.hi, 1);
  ASSERT_EQ(a.ticks.size(), 4u);
  EXPECT_DOUBLE_EQ(a.ticks[1], 0.2);
  EXPECT_DOUBLE_EQ(a.ticks[2], 0.5);
}

TEST(LogAxisTest, TwentyDecadesKeepAtMostNineTicks) {
  Axis a = LogAxis(1e-12, 1e8);
  EXPECT_LE(a.ticks.size(), 9u);
  EXPECT_GE(a.ticks.size(), 5u);
}

TEST(TickLabelTest, LabelsAreShortAndZeroIsPlain) {
  EXPECT_EQ(TickLabel(0), "0");
  EXPECT_EQ(TickLabel(0.6000000000000001), "0.6");
  EXPECT_EQ(TickLabel(-4), "-4");
  EXPECT_EQ(TickLabel(1e-5), "1e-05");
}

}  // namespace
}  // namespace actserve::client
