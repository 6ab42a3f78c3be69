#include "server/jobs/record_codec.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace actserve::server {
namespace {

train::TrainCheckpoint Sample() {
  train::TrainCheckpoint c;
  c.step = 42;
  c.elapsed_seconds = 1.25;
  c.weights = {{.weights = {1.5, -0.0, 3e-310}, .bias = {2}, .activation_param = {0.25}}};
  c.engine.optimizer_steps = 42;
  c.engine.first_moments = {{0.1, 0.2, 0.3}, {0.4}, {}};
  c.engine.second_moments = {{1, 2, 3}, {4}, {}};
  c.engine.stats.resize(1);
  c.engine.stats[0].alive = {1, 0, 1};
  c.engine.stats[0].saturated = 7;
  c.engine.stats[0].sum = std::nextafter(1.0, 2.0);
  c.best = INFINITY;
  c.best_weights = c.weights;
  c.last_validation_measured = true;
  c.last_validation_loss = std::numeric_limits<double>::quiet_NaN();
  return c;
}

TEST(RecordCodecTest, ACheckpointComesBackBitForBit) {
  const train::TrainCheckpoint c = Sample();
  absl::StatusOr<train::TrainCheckpoint> back = Decode<train::TrainCheckpoint>(Encode(c), "c");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->step, 42);
  EXPECT_EQ(back->weights[0].weights, c.weights[0].weights);
  EXPECT_TRUE(std::signbit(back->weights[0].weights[1]));
  EXPECT_EQ(back->engine.first_moments, c.engine.first_moments);
  EXPECT_EQ(back->engine.second_moments, c.engine.second_moments);
  EXPECT_EQ(back->engine.stats[0].alive, c.engine.stats[0].alive);
  EXPECT_EQ(back->engine.stats[0].sum, c.engine.stats[0].sum);
  EXPECT_EQ(back->best, INFINITY);
  EXPECT_TRUE(std::isnan(back->last_validation_loss));
  EXPECT_EQ(back->best_weights[0].activation_param, c.weights[0].activation_param);
}

TEST(RecordCodecTest, EveryFlippedByteAndEveryTruncationIsDataLoss) {
  const std::string sealed = Encode(Sample());
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x10;
    EXPECT_TRUE(absl::IsDataLoss(Decode<train::TrainCheckpoint>(bad, "c").status()))
        << "byte " << i;
  }
  for (size_t n = 0; n < sealed.size(); n += 7) {
    EXPECT_TRUE(absl::IsDataLoss(Decode<train::TrainCheckpoint>(sealed.substr(0, n), "c").status()))
        << n;
  }
}

TEST(RecordCodecTest, ARecordOfAnotherKindDoesNotParse) {
  train::Progress p;
  p.step = 3;
  p.layers.resize(2);
  const std::string sealed = Encode(p);
  ASSERT_TRUE(Decode<train::Progress>(sealed, "p").ok());
  EXPECT_EQ(Decode<train::Progress>(sealed, "p")->layers.size(), 2u);
  // Sealed correctly but not a checkpoint: its contents are read as one and found wanting.
  EXPECT_TRUE(absl::IsDataLoss(Decode<train::TrainCheckpoint>(sealed, "c").status()));
}

}  // namespace
}  // namespace actserve::server
