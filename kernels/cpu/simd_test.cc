#include "kernels/cpu/simd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
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

// Special values and the ends of the range, where a vector lane must agree with the scalar rule.
template <class T>
std::vector<T> SpecialValues() {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {T(0),     -T(0),     T(1e-30),      -T(1e-30),      L::denorm_min(),
                      T(0.3),   -T(0.3),   T(0.35),       -T(0.35),       T(0.7),
                      -T(0.7),  T(5),      -T(5),         T(-20),         T(30),
                      T(-87.5), T(88.7),   T(-103.9),     T(-104.5),      T(709.7),
                      T(-745),  T(-746),   L::infinity(), -L::infinity(), L::quiet_NaN(),
                      L::max(), -L::max(), L::min(),      -L::min()};
  return v;
}

// |got - want| in units of T's spacing at want rounded to T (the subnormal spacing at least).
template <class T>
double Ulps(T got, long double want) {
  const T w = static_cast<T>(want);
  if (std::isnan(w)) return std::isnan(got) ? 0 : INFINITY;
  if (std::isinf(w)) return got == w ? 0 : INFINITY;
  const long double ulp = std::max<long double>(
      std::numeric_limits<T>::denorm_min(),
      std::nextafter(std::fabs(w), std::numeric_limits<T>::infinity()) - std::fabs(w));
  return static_cast<double>(std::fabs(static_cast<long double>(got) - want) / ulp);
}

TYPED_TEST(StridedTest, MinMaxMatchTheSelectRule) {
  using T = TypeParam;
  using V = Vec<T>;
  for (T a : SpecialValues<T>()) {
    for (T b : SpecialValues<T>()) {
      const T min = Min(V(a), V(b)).Lane(0), max = Max(V(a), V(b)).Lane(0);
      const T want_min = b < a ? b : a, want_max = b > a ? b : a;
      EXPECT_TRUE(std::memcmp(&min, &want_min, sizeof(T)) == 0) << a << " " << b << " got " << min;
      EXPECT_TRUE(std::memcmp(&max, &want_max, sizeof(T)) == 0) << a << " " << b;
    }
  }
}

// Exp and Expm1 at the special values and on a dense grid, against the long double libm.
TYPED_TEST(StridedTest, ExpAndExpm1AgreeWithLibm) {
  using T = TypeParam;
  using V = Vec<T>;
  std::vector<T> xs = SpecialValues<T>();
  for (int i = -4000; i <= 4000; ++i) xs.push_back(static_cast<T>(i * 0.0273));
  for (T x : xs) {
    const T e = Exp(V(x)).Lane(0), m = Expm1(V(x)).Lane(0);
    EXPECT_LE(Ulps(e, std::exp(static_cast<long double>(x))), 1.5) << x;
    EXPECT_LE(Ulps(m, std::expm1(static_cast<long double>(x))), 2.5) << x;
    if (x == 0) EXPECT_EQ(std::signbit(m), std::signbit(x)) << "expm1 keeps the zero's sign";
  }
}

// The non-positive variants leave out a clamp and a case: on x <= 0 (with -0, -inf, the results
// that underflow to subnormals and 0) and NaN they give Exp's and Expm1's bits.
TYPED_TEST(StridedTest, NonPositiveExpVariantsMatchExpAndExpm1) {
  using T = TypeParam;
  using V = Vec<T>;
  std::vector<T> xs = {T(0),
                       -T(0),
                       -std::numeric_limits<T>::infinity(),
                       std::numeric_limits<T>::quiet_NaN(),
                       -std::numeric_limits<T>::denorm_min(),
                       -std::numeric_limits<T>::max()};
  for (int i = 0; i <= 40000; ++i) xs.push_back(static_cast<T>(i * -0.0191));
  for (T x : xs) {
    const T e = Exp(V(x)).Lane(0), m = Expm1(V(x)).Lane(0);
    const T en = ExpNonPositive(V(x)).Lane(0), mn = Expm1NonPositive(V(x)).Lane(0);
    EXPECT_EQ(std::memcmp(&e, &en, sizeof(T)), 0) << x << ": " << e << " " << en;
    EXPECT_EQ(std::memcmp(&m, &mn, sizeof(T)), 0) << x << ": " << m << " " << mn;
  }
}

// Log1p over [0, 1] densely (the inline path), at the special values (the library's), and in
// vectors that mix both.
TYPED_TEST(StridedTest, Log1pAgreesWithLibm) {
  using T = TypeParam;
  using V = Vec<T>;
  constexpr int L = V::kLanes;
  std::vector<T> xs = SpecialValues<T>();
  for (int i = 0; i <= 20000; ++i) xs.push_back(static_cast<T>(i / 20000.0));
  for (int e = -149; e <= 0; ++e) xs.push_back(std::ldexp(static_cast<T>(1.37), e));
  xs.push_back(std::nextafter(T(1), T(0)));
  xs.push_back(T(-0.5));
  xs.push_back(T(-1));
  for (size_t i = 0; i < xs.size(); ++i) {
    // Lane 0 holds xs[i]; the others hold in-range values, or an out-of-range one every 7th time.
    alignas(64) T lanes[L];
    for (int l = 0; l < L; ++l) lanes[l] = static_cast<T>((l + 1) / (L + 1.0));
    lanes[0] = xs[i];
    if (i % 7 == 0) lanes[L - 1] = T(3);
    const V y = Log1p(V::Load(lanes));
    for (int l = 0; l < L; ++l) {
      EXPECT_LE(Ulps(y.Lane(l), std::log1p(static_cast<long double>(lanes[l]))), 2.0) << lanes[l];
    }
    if (xs[i] == 0) EXPECT_EQ(std::signbit(y.Lane(0)), std::signbit(xs[i])) << "log1p keeps -0";
  }
}

}  // namespace
}  // namespace actserve::cpu
