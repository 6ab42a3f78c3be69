#include "kernels/cpu/simd.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace actserve::cpu {
namespace {

using math::LoadStridedN;
using math::StoreStridedN;

template <class T>
class StridedTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(StridedTest, Types);

// Strides with their own code paths (the permutes of 2, gathers and scatters for the others) and
// counts from one lane (the lane-by-lane path) to a full vector.
constexpr long kStrides[] = {1, 2, 3, 7, 1000};

TYPED_TEST(StridedTest, LoadsEveryStrideAndCountAndFillsTheRest) {
  using T = TypeParam;
  using V = Vec<T>;
  constexpr int L = V::kLanes;
  for (long stride : kStrides) {
    // The array ends at the last lane read.
    for (int count = 1; count <= L; ++count) {
      std::vector<T> a((count - 1) * stride + 1);
      for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<T>(i) + T(0.5);
      V v = LoadStridedN<V>(a.data(), stride, count, T(-7));
      for (int l = 0; l < L; ++l) {
        EXPECT_EQ(v.Lane(l), l < count ? a[l * stride] : T(-7)) << stride << " " << count;
      }
    }
  }
}

TYPED_TEST(StridedTest, StoresOnlyTheStridedLanes) {
  using T = TypeParam;
  using V = Vec<T>;
  constexpr int L = V::kLanes;
  alignas(64) T lanes[L];
  for (int l = 0; l < L; ++l) lanes[l] = static_cast<T>(100 + l);
  const V v = V::Load(lanes);
  for (long stride : kStrides) {
    for (int count = 1; count <= L; ++count) {
      const long n = (count - 1) * stride + 2;  // one guard entry after the last lane
      std::vector<T> a(n, T(-1));
      StoreStridedN(v, a.data(), stride, count);
      for (long i = 0; i < n; ++i) {
        const bool written = i % stride == 0 && i / stride < count;
        ASSERT_EQ(a[i], written ? lanes[i / stride] : T(-1)) << stride << " " << count << " " << i;
      }
    }
  }
}

}  // namespace
}  // namespace actserve::cpu
