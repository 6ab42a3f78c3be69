// The update rules against PyTorch's documented algorithms, written out independently here in
// double for a scalar parameter and a fixed gradient sequence.
#include "kernels/train/optimizer.h"

#include <cmath>

#include "gtest/gtest.h"

namespace actserve::train {
namespace {

const double kGrads[] = {0.5, -1.0, 2.0, 0.25};

double RunOptimizer(OptimizerSpec spec, double decay) {
  Optimizer<double> opt(spec, {1});
  double p = 1.0;
  for (double g : kGrads) {
    opt.BeginStep();
    opt.Update(0, absl::Span<double>(&p, 1), absl::Span<const double>(&g, 1), 0.1, decay);
  }
  return p;
}

TEST(OptimizerTest, SgdWithWeightDecay) {
  double p = 1.0;
  for (double g : kGrads) p -= 0.1 * (g + 0.01 * p);
  EXPECT_DOUBLE_EQ(RunOptimizer({.kind = OptimizerKind::kSgd}, 0.01), p);
}

TEST(OptimizerTest, MomentumAndNesterovFollowTorchOptimSgd) {
  for (bool nesterov : {false, true}) {
    double p = 1.0, buf = 0;
    for (size_t t = 0; t < 4; ++t) {
      double g = kGrads[t];
      buf = t == 0 ? g : 0.9 * buf + g;
      p -= 0.1 * (nesterov ? g + 0.9 * buf : buf);
    }
    OptimizerSpec spec{.kind = nesterov ? OptimizerKind::kNesterov : OptimizerKind::kMomentum,
                       .momentum = 0.9};
    EXPECT_DOUBLE_EQ(RunOptimizer(spec, 0), p) << (nesterov ? "nesterov" : "momentum");
  }
}

TEST(OptimizerTest, AdamFollowsTorchOptimAdam) {
  double p = 1.0, m = 0, v = 0;
  for (int t = 1; t <= 4; ++t) {
    double g = kGrads[t - 1];
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    double mhat = m / (1 - std::pow(0.9, t)), vhat = v / (1 - std::pow(0.999, t));
    p -= 0.1 * mhat / (std::sqrt(vhat) + 1e-8);
  }
  EXPECT_NEAR(RunOptimizer({.kind = OptimizerKind::kAdam}, 0), p, 1e-14);
}

TEST(OptimizerTest, SchedulesFollowPyTorch) {
  OptimizerSpec step{
      .learning_rate = 1, .schedule = Schedule::kStep, .step_epochs = 2, .gamma = 0.5};
  EXPECT_DOUBLE_EQ(LearningRate(step, 0, 10), 1);
  EXPECT_DOUBLE_EQ(LearningRate(step, 3, 10), 0.5);
  EXPECT_DOUBLE_EQ(LearningRate(step, 4, 10), 0.25);
  OptimizerSpec cosine{.learning_rate = 1, .schedule = Schedule::kCosine, .min_lr = 0.1};
  EXPECT_DOUBLE_EQ(LearningRate(cosine, 0, 10), 1);
  EXPECT_NEAR(LearningRate(cosine, 5, 10), 0.55, 1e-15);
}

}  // namespace
}  // namespace actserve::train
