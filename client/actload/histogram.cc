#include "client/actload/histogram.h"

#include <algorithm>
#include <cmath>

namespace actserve::actload {

int Histogram::BucketOf(int64_t value) {
  if (value < 0) value = 0;
  if (value > kMaxValue) value = kMaxValue;
  if (value < kLinear) return static_cast<int>(value);
  // value has `bits` significant bits, bits >= kSubBits + 2; keep the top kSubBits + 1.
  const int bits = 64 - __builtin_clzll(static_cast<uint64_t>(value));
  const int shift = bits - kSubBits - 1;  // >= 1
  const int64_t top = value >> shift;     // in [64, 128)
  return static_cast<int>(kLinear + (shift - 1) * (int64_t{1} << kSubBits) +
                          (top - (int64_t{1} << kSubBits)));
}

int64_t Histogram::BucketLow(int bucket) {
  if (bucket < kLinear) return bucket;
  const int i = bucket - static_cast<int>(kLinear);
  const int shift = i / (1 << kSubBits) + 1;
  const int64_t top = (i % (1 << kSubBits)) + (int64_t{1} << kSubBits);
  return top << shift;
}

int64_t Histogram::BucketHigh(int bucket) {
  if (bucket < kLinear) return bucket;
  const int shift = (bucket - static_cast<int>(kLinear)) / (1 << kSubBits) + 1;
  return BucketLow(bucket) + (int64_t{1} << shift) - 1;
}

int64_t Histogram::BucketValue(int bucket) {
  return BucketLow(bucket) + (BucketHigh(bucket) - BucketLow(bucket)) / 2;
}

void Histogram::Record(int64_t value, int64_t count) {
  if (count <= 0) return;
  value = std::clamp<int64_t>(value, 0, kMaxValue);
  counts_[BucketOf(value)] += count;
  if (count_ == 0 || value < min_) min_ = value;
  max_ = std::max(max_, value);
  count_ += count;
  sum_ += static_cast<double>(value) * count;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::Clear() { *this = Histogram(); }

int64_t Histogram::ValueAtPercentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  int64_t rank = static_cast<int64_t>(std::ceil(percent / 100.0 * count_));
  rank = std::clamp<int64_t>(rank, 1, count_);
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketValue(i), min_, max_);
  }
  return max_;
}

int64_t Histogram::CountAtOrAbove(int64_t value) const {
  int64_t n = 0;
  for (int i = kBuckets - 1; i >= 0 && BucketValue(i) >= value; --i) n += counts_[i];
  return n;
}

std::vector<std::pair<int, int64_t>> Histogram::NonEmptyBuckets() const {
  std::vector<std::pair<int, int64_t>> out;
  for (int i = 0; i < kBuckets; ++i)
    if (counts_[i]) out.emplace_back(i, counts_[i]);
  return out;
}

}  // namespace actserve::actload
