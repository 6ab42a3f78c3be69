#include "kernels/train/dataset.h"

#include <cmath>
#include <set>

#include "gtest/gtest.h"

namespace actserve::train {
namespace {

TEST(DatasetTest, EveryGeneratorIsDeterministicAndWellFormed) {
  for (const GeneratorInfo& info : Generators()) {
    GeneratorSpec spec{.name = info.name, .rows = 500, .seed = 3};
    absl::StatusOr<Dataset> a = Generate(spec, 1000), b = Generate(spec, 1000);
    ASSERT_TRUE(a.ok()) << info.name << ": " << a.status();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->x, b->x) << info.name;
    EXPECT_EQ(a->y, b->y) << info.name;
    EXPECT_EQ(a->rows, 500);
    EXPECT_EQ(a->x.size(), 500 * a->features);
    EXPECT_EQ(a->y.size(), 500u);
    for (double v : a->x) EXPECT_TRUE(std::isfinite(v)) << info.name;
    if (!info.regression) {
      std::set<double> labels(a->y.begin(), a->y.end());
      EXPECT_EQ(labels.size(), std::string(info.name) == "blobs" ? 3u : 2u) << info.name;
    }
    spec.seed = 4;
    EXPECT_NE(Generate(spec, 1000)->x, a->x) << info.name << " ignores its seed";
  }
}

TEST(DatasetTest, XorLabelsFollowTheQuadrant) {
  absl::StatusOr<Dataset> d = Generate({.name = "xor", .rows = 200, .seed = 1}, 1000);
  ASSERT_TRUE(d.ok());
  for (int64_t r = 0; r < d->rows; ++r) {
    EXPECT_EQ(d->y[r], d->x[2 * r] * d->x[2 * r + 1] < 0 ? 1 : 0);
  }
}

TEST(DatasetTest, SineTargetsAreSinePlusNoise) {
  absl::StatusOr<Dataset> d =
      Generate({.name = "sine", .rows = 100, .seed = 1, .noise = 0.0}, 1000);
  ASSERT_TRUE(d.ok());
  for (int64_t r = 0; r < d->rows; ++r) EXPECT_DOUBLE_EQ(d->y[r], std::sin(d->x[r]));
}

TEST(DatasetTest, BadSpecsNameTheField) {
  EXPECT_EQ(Generate({.name = "mnist", .rows = 10}, 100).status().message().substr(0, 13),
            "dataset.name:");
  EXPECT_EQ(Generate({.name = "xor", .rows = 0}, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Generate({.name = "xor", .rows = 101}, 100).status().message().substr(0, 13),
            "dataset.rows:");
  EXPECT_EQ(
      Generate({.name = "xor", .rows = 10, .noise = NAN}, 100).status().message().substr(0, 14),
      "dataset.noise:");
  EXPECT_EQ(
      Generate({.name = "blobs", .rows = 10, .classes = 1}, 100).status().message().substr(0, 16),
      "dataset.classes:");
}

TEST(DatasetTest, SplitOffHoldsOutTheFractionDeterministically) {
  Dataset d = *Generate({.name = "moons", .rows = 100, .seed = 2}, 1000);
  Dataset a = d, b = d, held_a, held_b;
  SplitOff(a, 0.2, 9, &held_a);
  SplitOff(b, 0.2, 9, &held_b);
  EXPECT_EQ(held_a.rows, 20);
  EXPECT_EQ(a.rows, 80);
  EXPECT_EQ(a.x.size(), 160u);
  EXPECT_EQ(held_a.x, held_b.x);
  // Every row lands on exactly one side.
  std::multiset<double> all(d.x.begin(), d.x.end()), parts(a.x.begin(), a.x.end());
  parts.insert(held_a.x.begin(), held_a.x.end());
  EXPECT_EQ(all, parts);
}

TEST(DatasetTest, DerivedSeedsDiffer) {
  EXPECT_NE(DeriveSeed(0, 0), DeriveSeed(0, 1));
  EXPECT_NE(DeriveSeed(0, 0), DeriveSeed(1, 0));
  EXPECT_EQ(DeriveSeed(5, 6), DeriveSeed(5, 6));
}

}  // namespace
}  // namespace actserve::train
