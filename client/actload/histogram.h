// Histogram: a bounded log-linear histogram of non-negative integer values (actload records
// latencies in nanoseconds), in the manner of HdrHistogram.
//
// Contract:
// - Memory is fixed (kBuckets counters, ~20 KiB) whatever the number of values recorded.
// - Values below 128 are counted exactly. Above, each power-of-two range [2^k, 2^(k+1)) is cut
//   into 64 equal buckets, so a bucket's width is at most 1/64 of its lower bound, and the value
//   reported for a bucket (its midpoint) is within kRelativeError = 1/128 (0.78%) of every value
//   it holds. Percentiles are therefore within 1/128 of the exact sample percentiles.
// - Values above kMaxValue (2^42 - 1 ns, 73 minutes) are counted in the last bucket; the exact
//   minimum and maximum are kept apart and bound every percentile.
// - Histograms merge by adding counters (Merge), so each thread may record into its own.
// Not thread-safe: one writer at a time.
#ifndef ACTSERVE_CLIENT_ACTLOAD_HISTOGRAM_H_
#define ACTSERVE_CLIENT_ACTLOAD_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace actserve::actload {

class Histogram {
 public:
  static constexpr int kSubBits = 6;                 // 64 buckets per power of two
  static constexpr int64_t kLinear = 2 << kSubBits;  // values below 128 are exact
  static constexpr int kMaxBits = 42;                // values up to 2^42 - 1
  static constexpr int kBuckets = kLinear + (kMaxBits - kSubBits - 1) * (1 << kSubBits);
  static constexpr int64_t kMaxValue = (int64_t{1} << kMaxBits) - 1;
  static constexpr double kRelativeError = 1.0 / 128;

  // Counts `value` (negative values count as 0, values above kMaxValue as kMaxValue) `count`
  // times.
  void Record(int64_t value, int64_t count = 1);
  // Adds `other`'s counts to this one.
  void Merge(const Histogram& other);
  void Clear();

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / count_ : 0; }
  // The value below or at which `percent` (0..100) of the values lie: the representative value
  // of the bucket holding the ceil(percent/100 * count)-th smallest value, clamped to
  // [min, max]. 0 for an empty histogram.
  int64_t ValueAtPercentile(double percent) const;
  // How many values are at least `value` (to the bucket resolution: counts whole buckets whose
  // representative value is >= value).
  int64_t CountAtOrAbove(int64_t value) const;

  // The bucket of a value, and the bounds [BucketLow, BucketHigh] of the values it holds.
  static int BucketOf(int64_t value);
  static int64_t BucketLow(int bucket);
  static int64_t BucketHigh(int bucket);
  static int64_t BucketValue(int bucket);  // the midpoint, what percentiles report

  // Non-empty buckets as (bucket, count), in increasing order.
  std::vector<std::pair<int, int64_t>> NonEmptyBuckets() const;
  // Bytes held: constant.
  static constexpr size_t MemoryBytes() { return sizeof(Histogram); }

 private:
  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_HISTOGRAM_H_
