#include "client/actload/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace actserve::actload {
namespace {

int64_t ExactPercentile(std::vector<int64_t> sorted, double percent) {
  int64_t rank = static_cast<int64_t>(std::ceil(percent / 100.0 * sorted.size()));
  rank = std::clamp<int64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

TEST(ActloadHistogramTest, BucketsTileTheRangeWithoutGapsOrOverlap) {
  for (int b = 1; b < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::BucketLow(b), Histogram::BucketHigh(b - 1) + 1) << b;
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketLow(b)), b);
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketHigh(b)), b);
  }
  EXPECT_EQ(Histogram::BucketHigh(Histogram::kBuckets - 1), Histogram::kMaxValue);
}

TEST(ActloadHistogramTest, EveryBucketIsNarrowerThanItsStatedRelativeError) {
  for (int b = Histogram::kLinear; b < Histogram::kBuckets; ++b) {
    const double mid = Histogram::BucketValue(b);
    EXPECT_LE(mid - Histogram::BucketLow(b), Histogram::kRelativeError * Histogram::BucketLow(b));
    EXPECT_LE(Histogram::BucketHigh(b) - mid, Histogram::kRelativeError * Histogram::BucketHigh(b));
  }
}

TEST(ActloadHistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 0; v < 100; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtPercentile(50), 49);
  EXPECT_EQ(h.ValueAtPercentile(100), 99);
  EXPECT_EQ(h.min(), 0);
}

TEST(ActloadHistogramTest, PercentilesAreWithinTheRelativeErrorOfExactOnes) {
  // Log-normal latencies around 200 us with a long tail, plus rare multi-second outliers.
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> body(std::log(200e3), 0.8);
  std::uniform_real_distribution<double> outlier(1e9, 5e9);
  std::uniform_real_distribution<double> coin(0, 1);
  std::vector<int64_t> samples;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    const int64_t v = static_cast<int64_t>(coin(rng) < 0.001 ? outlier(rng) : body(rng));
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = ExactPercentile(samples, p);
    EXPECT_LE(std::abs(h.ValueAtPercentile(p) - exact), Histogram::kRelativeError * exact)
        << "p" << p;
  }
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.min(), samples.front());
  EXPECT_EQ(h.count(), static_cast<int64_t>(samples.size()));
}

TEST(ActloadHistogramTest, MergingPerThreadHistogramsEqualsRecordingIntoOne) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> d(1e-6);
  Histogram all, a, b;
  for (int i = 0; i < 50000; ++i) {
    const int64_t v = static_cast<int64_t>(d(rng));
    all.Record(v);
    (i % 3 ? a : b).Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.NonEmptyBuckets(), all.NonEmptyBuckets());
  for (double p : {50.0, 99.0, 99.99}) EXPECT_EQ(a.ValueAtPercentile(p), all.ValueAtPercentile(p));
}

TEST(ActloadHistogramTest, MemoryIsFixedOverALongRun) {
  // 100 million values over the whole range: the object does not grow (it holds no heap
  // memory at all) and nothing saturates.
  Histogram h;
  const size_t before = Histogram::MemoryBytes();
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 100'000'000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    h.Record(static_cast<int64_t>(x >> (22 + (x & 15))));
  }
  EXPECT_EQ(Histogram::MemoryBytes(), before);
  EXPECT_LT(Histogram::MemoryBytes(), 24 * 1024u);
  EXPECT_EQ(h.count(), 100'000'000);
  EXPECT_LE(h.max(), Histogram::kMaxValue);
}

TEST(ActloadHistogramTest, OutOfRangeValuesAreClamped) {
  Histogram h;
  h.Record(-5);
  h.Record(Histogram::kMaxValue * 4);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  EXPECT_EQ(h.CountAtOrAbove(Histogram::kMaxValue / 2), 1);
}

}  // namespace
}  // namespace actserve::actload
