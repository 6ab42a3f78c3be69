#include "kernels/train/spec.h"

#include <cmath>

#include "gtest/gtest.h"
#include "kernels/catalog/catalog.h"

namespace actserve::train {
namespace {

TrainSpec Xor() {
  TrainSpec spec;
  spec.inputs = 2;
  spec.layers = {{8, {.activation = "tanh"}}, {2, {.activation = "identity"}}};
  spec.loss = Loss::kSoftmaxCrossEntropy;
  spec.batch_size = 4;
  return spec;
}

Dataset Data(int64_t rows = 8) {
  Dataset d;
  d.rows = rows;
  d.features = 2;
  d.x.assign(rows * 2, 0.5);
  d.y.assign(rows, 1);
  return d;
}

// Validate's message for `spec` (OK: "").
std::string Error(const TrainSpec& spec, const Dataset& data = Data(), Limits limits = {}) {
  absl::Status s = Validate(spec, data, Dataset(), limits);
  return s.ok() ? "" : absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

TEST(SpecTest, AValidSpecPasses) { EXPECT_EQ(Error(Xor()), ""); }

TEST(SpecTest, BadInputNamesTheField) {
  struct Bad {
    std::function<void(TrainSpec&, Dataset&)> mutate;
    std::string expected;  // prefix of the message
  } cases[] = {
      {[](TrainSpec& s, Dataset&) { s.inputs = 0; }, "INVALID_ARGUMENT: inputs:"},
      {[](TrainSpec& s, Dataset&) { s.layers.clear(); }, "INVALID_ARGUMENT: layers:"},
      {[](TrainSpec& s, Dataset&) { s.layers[0].units = -1; },
       "INVALID_ARGUMENT: layers[0].units:"},
      {[](TrainSpec& s, Dataset&) { s.layers[0].activation.activation = "nope"; },
       "INVALID_ARGUMENT: layers[0].activation:"},
      {[](TrainSpec& s, Dataset&) { s.layers[1].units = 1; }, "INVALID_ARGUMENT: loss:"},
      {[](TrainSpec& s, Dataset&) { s.optimizer.learning_rate = 0; },
       "INVALID_ARGUMENT: optimizer.learning_rate:"},
      {[](TrainSpec& s, Dataset&) { s.optimizer.learning_rate = NAN; },
       "INVALID_ARGUMENT: optimizer.learning_rate:"},
      {[](TrainSpec& s, Dataset&) { s.optimizer.l2 = INFINITY; },
       "INVALID_ARGUMENT: optimizer.l2:"},
      {[](TrainSpec& s, Dataset&) { s.optimizer.momentum = 1; },
       "INVALID_ARGUMENT: optimizer.momentum:"},
      {[](TrainSpec& s, Dataset&) { s.batch_size = 9; },
       "INVALID_ARGUMENT: batch_size: 9 is larger"},
      {[](TrainSpec& s, Dataset&) { s.batch_size = 0; }, "INVALID_ARGUMENT: batch_size:"},
      {[](TrainSpec& s, Dataset&) { s.epochs = 0; }, "INVALID_ARGUMENT: epochs:"},
      {[](TrainSpec&, Dataset& d) { d.x[3] = NAN; }, "INVALID_ARGUMENT: data.features[3]:"},
      {[](TrainSpec&, Dataset& d) { d.y[2] = 2; }, "INVALID_ARGUMENT: data.targets[2]:"},
      {[](TrainSpec&, Dataset& d) { d.y[2] = 0.5; }, "INVALID_ARGUMENT: data.targets[2]:"},
      {[](TrainSpec&, Dataset& d) { d.features = 3; }, "INVALID_ARGUMENT: data.features:"},
      {[](TrainSpec& s, Dataset&) {
         s.init = Init::kExplicit;
         s.initial_weights.resize(2);
       },
       "INVALID_ARGUMENT: init.weights[0].weights:"},
      {[](TrainSpec& s, Dataset&) { s.validation_fraction = 1; },
       "INVALID_ARGUMENT: validation_fraction:"},
      {[](TrainSpec& s, Dataset&) { s.layers[0].units = 1 << 23; }, "RESOURCE_EXHAUSTED: layers:"},
      {[](TrainSpec& s, Dataset&) { s.epochs = int64_t{1} << 40; }, "RESOURCE_EXHAUSTED: epochs:"},
  };
  for (const Bad& bad : cases) {
    TrainSpec spec = Xor();
    Dataset data = Data();
    bad.mutate(spec, data);
    std::string error;
    absl::Status s = Validate(spec, data, Dataset(), Limits());
    error = absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
    EXPECT_EQ(error.substr(0, bad.expected.size()), bad.expected) << error;
  }
}

TEST(SpecTest, LayersNoGradientReachesMustBeFrozen) {
  // Every activation of the catalog that passes no gradient blocks the layers up to its own.
  for (int a = 0; a < kNumActivations; ++a) {
    const ActivationInfo& info = Info(static_cast<ActivationId>(a));
    if (info.properties.gradient_flows) continue;
    TrainSpec spec = Xor();
    spec.layers = {{8, {.activation = "tanh"}},
                   {8, {.activation = std::string(info.name)}},
                   {8, {.activation = "relu"}},
                   {2, {.activation = "identity"}}};
    EXPECT_EQ(
        Error(spec).substr(0, 70),
        absl::StrCat("INVALID_ARGUMENT: layers[0]: cannot train: the activation of layers[1] (",
                     info.name, ")")
            .substr(0, 70))
        << info.name;
    spec.layers[0].frozen = true;
    EXPECT_EQ(Error(spec).substr(0, 45), "INVALID_ARGUMENT: layers[1]: cannot train: th")
        << info.name;
    spec.layers[1].frozen = true;
    EXPECT_EQ(Error(spec), "") << info.name;  // layers 2 and 3 still train
  }
  // Only gradient_flows decides: a hard but differentiable activation trains.
  TrainSpec spec = Xor();
  spec.layers[0].activation.activation = "hard_tanh";
  EXPECT_EQ(Error(spec), "");
}

TEST(SpecTest, SigmoidCrossEntropyTargetsMustBeProbabilities) {
  TrainSpec spec = Xor();
  spec.loss = Loss::kSigmoidCrossEntropy;
  spec.layers[1].units = 1;
  Dataset data = Data();
  data.y[0] = 1.5;
  EXPECT_NE(Error(spec, data).find("data.targets[0]: 1.5 is outside [0, 1]"), std::string::npos);
}

TEST(SpecTest, MaxoutNarrowsTheNextLayersInputs) {
  TrainSpec spec = Xor();
  spec.layers[0].activation = {.activation = "maxout", .params = {{"k", {2}}}};
  absl::StatusOr<std::vector<int64_t>> outputs = LayerOutputs(spec);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0], 4);
  EXPECT_EQ(ParameterCount(spec), 8 * 3 + 2 * 5);
}

TEST(SpecTest, WeightsAreCheckedAgainstTheLayers) {
  TrainSpec spec = Xor();
  spec.layers[0].activation.activation = "prelu";
  std::vector<LayerWeights> w = {{std::vector<double>(16, 0.1), std::vector<double>(8, 0), {}},
                                 {std::vector<double>(16, 0.1), std::vector<double>(2, 0), {}}};
  EXPECT_TRUE(ValidateWeights(spec, w, "network.weights").ok());
  w[0].activation_param = {0.1, 0.2};  // neither one value nor one per unit
  EXPECT_EQ(ValidateWeights(spec, w, "network.weights").message(),
            "network.weights[0].activation_param: has 2 values; expected 1 or 8 (one per unit)");
  w[0].activation_param = {0.1};
  w[1].activation_param = {0.1};  // identity has no learnable parameter
  EXPECT_EQ(ValidateWeights(spec, w, "network.weights").message(),
            "network.weights[1].activation_param: is set but the layer's activation has no "
            "learnable parameter");
  w[1].activation_param.clear();
  w[1].bias[1] = NAN;
  EXPECT_EQ(ValidateWeights(spec, w, "network.weights").message(),
            "network.weights[1].bias[1]: nan is not finite; expected finite values");
  w.pop_back();
  EXPECT_EQ(ValidateWeights(spec, w, "network.weights").message(),
            "network.weights: has 1 layers; expected 2 (one per layer)");
}

TEST(SpecTest, DataBeyondTheLimitIsResourceExhausted) {
  Limits limits;
  limits.max_data_elements = 10;
  EXPECT_EQ(Error(Xor(), Data(), limits).substr(0, 25), "RESOURCE_EXHAUSTED: data:");
}

}  // namespace
}  // namespace actserve::train
