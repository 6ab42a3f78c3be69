#include "kernels/catalog/element_rules.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "kernels/catalog/catalog.h"

namespace actserve {
namespace {

TEST(ElementRulesTest, ChannelsRepeatEveryInnerElementsAlongAxisOne) {
  // Shape (2, 3, 4): inner = 4, channels = 3.
  EXPECT_EQ(ChannelOf(0, 4, 3), 0);
  EXPECT_EQ(ChannelOf(3, 4, 3), 0);
  EXPECT_EQ(ChannelOf(4, 4, 3), 1);
  EXPECT_EQ(ChannelOf(11, 4, 3), 2);
  EXPECT_EQ(ChannelOf(12, 4, 3), 0);  // the second sample starts over
}

TEST(ElementRulesTest, OneParameterValueServesEveryChannel) {
  const double one[] = {0.5}, per_channel[] = {1, 2, 3};
  EXPECT_EQ(ChannelValue(one, 1, 2), 0.5);
  EXPECT_EQ(ChannelValue(per_channel, 3, 2), 3);
}

TEST(ElementRulesTest, RreluDrawsOnlyInTrainingAndUsesTheMeanSlopeOtherwise) {
  const ActivationInfo& rrelu = Info(*FindActivation("rrelu"));
  EXPECT_EQ(DrawFor(rrelu.noise, true), NoiseDraw::kUniform);
  EXPECT_EQ(DrawFor(rrelu.noise, false), NoiseDraw::kConstant);
  // The slope lower + noise * (upper - lower) is then (lower + upper) / 2.
  EXPECT_EQ(NoiseSample(rrelu.noise, false, 7, 3), 0.5);
  EXPECT_EQ(NoiseSample(rrelu.noise, true, 7, 3), math::UniformSample(7, 3));
}

TEST(ElementRulesTest, NormalNoiseIsDrawnInBothModes) {
  for (bool training : {false, true}) {
    EXPECT_EQ(DrawFor(Noise::kStandardNormal, training), NoiseDraw::kStandardNormal);
    EXPECT_EQ(NoiseSample(Noise::kStandardNormal, training, 7, 5), math::NormalSample(7, 5));
  }
  EXPECT_EQ(NoiseSample(Noise::kNone, true, 7, 5), 0.0);
}

TEST(ElementRulesTest, NanInputGivesNanInEveryOutput) {
  using Fn = fn::Prelu;
  Args<double> a{{0.25}, 0};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(ElementForward<Fn>(nan, a)));
  EXPECT_TRUE(std::isnan(ElementBackward<Fn>(nan, 1.0, a)));
  EXPECT_TRUE(std::isnan(ElementParamGradient<Fn>(nan, 1.0, a)));
  EXPECT_EQ(ElementForward<Fn>(-2.0, a), -0.5);
  double x[3] = {1, nan, 2}, dx[3] = {5, 6, 7};
  PropagateRowNans(x, 3, dx);
  EXPECT_EQ(dx[0], 5);
  EXPECT_TRUE(std::isnan(dx[1]));
  EXPECT_EQ(dx[2], 7);
}

TEST(ElementRulesTest, AnOverflowingFp32ParameterGradientIsRecomputedInDouble) {
  using Fn = fn::Swish;
  Args<float> a{{0.0f}, 0};  // b = 0: df/db = x^2 / 4
  EXPECT_DOUBLE_EQ(ParamGradientTerm<Fn>(1e30f, 1.0f, a),
                   static_cast<double>(1e30f) * static_cast<double>(1e30f) / 4);
  EXPECT_TRUE(std::isinf(ParamGradientTerm<Fn>(std::numeric_limits<float>::infinity(), 1.0f, a)));
}

// Backward skips the draw where BackwardUsesNoise says so: the derivative must then be the same
// for any noise value, over every element-wise definition in the catalog.
template <class Fn>
void ExpectDerivativeIndependentOfNoiseUnlessUsed() {
  if constexpr (Fn::kInfo.layout == Layout::kElementwise) {
    if (BackwardUsesNoise(Fn::kInfo)) return;
    Args<double> a, b;
    for (int k = 0; k < kMaxParams; ++k) {
      const double p = k < Fn::kInfo.num_params() ? Fn::kInfo.params[k].default_value : 0;
      a.p[k] = b.p[k] = p;
    }
    a.noise = -1.7;
    b.noise = 2.3;
    for (double x : {-5.0, -1.0, -0.25, 0.0, 0.25, 1.0, 5.0}) {
      EXPECT_EQ(ElementBackward<Fn>(x, 0.75, a), ElementBackward<Fn>(x, 0.75, b))
          << Fn::kInfo.name << " at " << x;
    }
  }
}

TEST(ElementRulesTest, BackwardSkipsTheDrawOnlyWhereTheDerivativeIgnoresIt) {
#define ACTSERVE_CHECK_(Type) ExpectDerivativeIndependentOfNoiseUnlessUsed<fn::Type>();
  ACTSERVE_ACTIVATIONS(ACTSERVE_CHECK_)
#undef ACTSERVE_CHECK_
  EXPECT_FALSE(BackwardUsesNoise(Info(*FindActivation("noisy_relu"))));
  EXPECT_TRUE(BackwardUsesNoise(Info(*FindActivation("rrelu"))));
}

}  // namespace
}  // namespace actserve
