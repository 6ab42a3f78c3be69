// Training on the GPU against training on the CPU: the same jobs (losses, optimizers, dtypes,
// learnable, per-channel, frozen and stochastic activations, a last-axis hidden layer, early
// stopping, divergence) must give loss curves, diagnostics and weights that agree to rounding.
// Without a device the comparisons are skipped (and counted as skipped); the factory's answers
// are checked everywhere.
#include "kernels/cuda/cuda_engine.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/train/trainer.h"

namespace actserve {
namespace {

using train::Dataset;
using train::Loss;
using train::OptimizerKind;
using train::TrainSpec;

TEST(CudaEngineAvailabilityTest, AMissingDeviceIsUnavailableAndSaysWhy) {
  TrainSpec spec;
  spec.inputs = 2;
  spec.layers = {{4, {.activation = "tanh"}}, {1, {.activation = "identity"}}};
  absl::StatusOr<std::unique_ptr<train::Engine>> engine = NewCudaEngine(spec, {.device = 99});
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kUnavailable) << engine.status();
  EXPECT_FALSE(engine.status().message().empty());
}

struct Case {
  std::string name;
  train::DType dtype;
  const char* dataset;
  std::vector<train::LayerSpec> layers;
  Loss loss;
  train::OptimizerSpec optimizer;
  int64_t patience = 0;
  double validation_fraction = 0;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> Cases() {
  using train::DType;
  using train::LayerSpec;
  const LayerSpec out2{2, {.activation = "identity"}};
  std::vector<Case> cases;
  cases.push_back({"tanh_mse_sgd_fp64",
                   DType::kFloat64,
                   "sine",
                   {{16, {.activation = "tanh"}}, {1, {.activation = "identity"}}},
                   Loss::kMeanSquaredError,
                   {.kind = OptimizerKind::kSgd, .learning_rate = 0.05}});
  cases.push_back({"relu_softmax_adam_fp32",
                   DType::kFloat32,
                   "two_spirals",
                   {{32, {.activation = "relu"}}, {32, {.activation = "relu"}}, out2},
                   Loss::kSoftmaxCrossEntropy,
                   {.kind = OptimizerKind::kAdam, .learning_rate = 0.01}});
  cases.push_back(
      {"per_channel_prelu_momentum_l2_fp64",
       DType::kFloat64,
       "moons",
       {{8, {.activation = "prelu", .params = {{"a", std::vector<double>(8, 0.2)}}}}, out2},
       Loss::kSoftmaxCrossEntropy,
       {.kind = OptimizerKind::kMomentum, .learning_rate = 0.05, .l2 = 1e-3}});
  cases.push_back({"rrelu_noise_nesterov_fp64",
                   DType::kFloat64,
                   "circles",
                   {{16, {.activation = "rrelu"}}, out2},
                   Loss::kSoftmaxCrossEntropy,
                   {.kind = OptimizerKind::kNesterov, .learning_rate = 0.05}});
  cases.push_back({"swish_softmax_hidden_sigmoid_ce_fp32",
                   DType::kFloat32,
                   "xor",
                   {{16, {.activation = "swish"}},
                    {8, {.activation = "softmax"}},
                    {1, {.activation = "identity"}}},
                   Loss::kSigmoidCrossEntropy,
                   {.kind = OptimizerKind::kAdam, .learning_rate = 0.01}});
  cases.push_back({"frozen_elu_mse_fp32",
                   DType::kFloat32,
                   "sine",
                   {{16,
                     {.activation = "elu", .params = {{"a", {0.5}}}},
                     /*freeze_params=*/true},
                    {1, {.activation = "identity"}}},
                   Loss::kMeanSquaredError,
                   {.kind = OptimizerKind::kSgd, .learning_rate = 0.05}});
  cases.push_back({"early_stopping_on_validation_fp64",
                   DType::kFloat64,
                   "blobs",
                   {{16, {.activation = "gelu"}}, {3, {.activation = "identity"}}},
                   Loss::kSoftmaxCrossEntropy,
                   {.kind = OptimizerKind::kAdam, .learning_rate = 0.05},
                   /*patience=*/2,
                   /*validation_fraction=*/0.25});
  return cases;
}

// Why there is no device to test on, or empty.
std::string NoDevice() {
  absl::StatusOr<std::unique_ptr<Backend>> gpu = NewCudaBackend();
  return gpu.ok() ? "" : "no CUDA device to test on: " + std::string(gpu.status().message());
}

class CudaEngineTest : public ::testing::TestWithParam<Case> {
 protected:
  struct Outcome {
    train::TrainResult result;
    std::vector<train::Progress> progress;
  };

  static Outcome Train(const TrainSpec& spec, const Dataset& data, bool gpu) {
    std::unique_ptr<Backend> cpu = NewCpuBackend({.threads = 1});
    train::TrainOptions options;
    options.backend = cpu.get();
    if (gpu) options.engine = [](const TrainSpec& s) { return NewCudaEngine(s); };
    Outcome out;
    options.on_progress = [&out](const train::Progress& p) { out.progress.push_back(p); };
    absl::StatusOr<train::TrainResult> r = train::Train(spec, data, Dataset(), options);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) out.result = *std::move(r);
    return out;
  }

  static TrainSpec Spec(const Case& c, int64_t inputs) {
    TrainSpec spec;
    spec.inputs = inputs;
    spec.layers = c.layers;
    spec.loss = c.loss;
    spec.optimizer = c.optimizer;
    spec.dtype = c.dtype;
    spec.batch_size = 32;
    spec.epochs = 12;
    spec.seed = 7;
    spec.patience = c.patience;
    spec.validation_fraction = c.validation_fraction;
    return spec;
  }
};

// |a - b| within `tol` relative to the larger magnitude (absolute below 1).
void ExpectClose(double a, double b, double tol, const std::string& what) {
  EXPECT_LE(std::abs(a - b), tol * std::max({1.0, std::abs(a), std::abs(b)}))
      << what << ": cpu " << a << " gpu " << b;
}

TEST_P(CudaEngineTest, LossCurveDiagnosticsAndWeightsTrackTheCpu) {
  const Case& c = GetParam();
  absl::StatusOr<Dataset> data =
      train::Generate({.name = c.dataset, .rows = 320, .seed = 3}, 1 << 20);
  ASSERT_TRUE(data.ok()) << data.status();
  const TrainSpec spec = Spec(c, data->features);
  ASSERT_TRUE(train::Validate(spec, *data, Dataset(), train::Limits()).ok())
      << train::Validate(spec, *data, Dataset(), train::Limits());
  // The CPU's run everywhere, so that every case stays a valid job that trains.
  const Outcome cpu = Train(spec, *data, false);
  ASSERT_GE(cpu.result.steps, 10);
  if (std::string why = NoDevice(); !why.empty()) GTEST_SKIP() << why;
  const Outcome gpu = Train(spec, *data, true);
  // fp64 differs only by summation order; fp32 rounding grows over the steps a little.
  const double tol = c.dtype == train::DType::kFloat64 ? 1e-8 : 2e-3;

  EXPECT_EQ(cpu.result.outcome, gpu.result.outcome);
  EXPECT_EQ(cpu.result.epochs, gpu.result.epochs);
  EXPECT_EQ(cpu.result.steps, gpu.result.steps);
  ASSERT_EQ(cpu.progress.size(), gpu.progress.size());
  for (size_t i = 0; i < cpu.progress.size(); ++i) {
    const train::Progress &p = cpu.progress[i], &q = gpu.progress[i];
    const std::string at = "report " + std::to_string(i);
    ExpectClose(p.train_loss, q.train_loss, tol, at + " train_loss");
    ExpectClose(p.train_accuracy, q.train_accuracy, 0.02, at + " train_accuracy");
    ExpectClose(p.validation_loss, q.validation_loss, tol, at + " validation_loss");
    ASSERT_EQ(p.layers.size(), q.layers.size());
    for (size_t l = 0; l < p.layers.size(); ++l) {
      const train::LayerDiagnostics &d = p.layers[l], &e = q.layers[l];
      const std::string layer = at + " layer " + std::to_string(l);
      EXPECT_EQ(d.has_derivative_stats, e.has_derivative_stats) << layer;
      ExpectClose(d.dead_fraction, e.dead_fraction, 0.07, layer + " dead_fraction");
      ExpectClose(d.saturated_fraction, e.saturated_fraction, 0.02, layer + " saturated");
      ExpectClose(d.activation_mean, e.activation_mean, tol, layer + " activation_mean");
      ExpectClose(d.activation_std, e.activation_std, tol, layer + " activation_std");
      ExpectClose(d.weight_norm, e.weight_norm, tol, layer + " weight_norm");
      ExpectClose(d.gradient_norm, e.gradient_norm, tol, layer + " gradient_norm");
    }
  }
  ExpectClose(cpu.result.train_loss, gpu.result.train_loss, tol, "final train_loss");
  ASSERT_EQ(cpu.result.weights.size(), gpu.result.weights.size());
  for (size_t l = 0; l < cpu.result.weights.size(); ++l) {
    const train::LayerWeights &a = cpu.result.weights[l], &b = gpu.result.weights[l];
    ASSERT_EQ(a.weights.size(), b.weights.size());
    ASSERT_EQ(a.activation_param.size(), b.activation_param.size()) << "layer " << l;
    for (size_t i = 0; i < a.weights.size(); ++i) {
      ExpectClose(a.weights[i], b.weights[i], tol, "W of layer " + std::to_string(l));
    }
    for (size_t i = 0; i < a.bias.size(); ++i) {
      ExpectClose(a.bias[i], b.bias[i], tol, "b of layer " + std::to_string(l));
    }
    for (size_t i = 0; i < a.activation_param.size(); ++i) {
      ExpectClose(a.activation_param[i], b.activation_param[i], tol,
                  "activation parameter of layer " + std::to_string(l));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Jobs, CudaEngineTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

class CudaEngineFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = NoDevice(); !why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(CudaEngineFailureTest, ADivergingJobFailsAtTheSameStepAsOnTheCpu) {
  absl::StatusOr<Dataset> data = train::Generate({.name = "sine", .rows = 128, .seed = 1}, 1 << 20);
  ASSERT_TRUE(data.ok());
  TrainSpec spec;
  spec.inputs = 1;
  spec.layers = {{16, {.activation = "relu"}}, {1, {.activation = "identity"}}};
  spec.dtype = train::DType::kFloat64;
  spec.optimizer = {.kind = OptimizerKind::kSgd, .learning_rate = 1e6};
  spec.epochs = 5;
  std::unique_ptr<Backend> cpu = NewCpuBackend({.threads = 1});
  train::TrainOptions options;
  options.backend = cpu.get();
  absl::StatusOr<train::TrainResult> on_cpu = train::Train(spec, *data, Dataset(), options);
  options.engine = [](const TrainSpec& s) { return NewCudaEngine(s); };
  absl::StatusOr<train::TrainResult> on_gpu = train::Train(spec, *data, Dataset(), options);
  ASSERT_TRUE(on_cpu.ok()) << on_cpu.status();
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status();
  EXPECT_EQ(on_cpu->outcome, train::Outcome::kFailed);
  EXPECT_EQ(on_gpu->outcome, train::Outcome::kFailed);
  EXPECT_EQ(on_cpu->failure, on_gpu->failure);
}

TEST_F(CudaEngineFailureTest, OutOfDeviceMemoryIsResourceExhaustedAndTheDeviceStaysUsable) {
  TrainSpec huge;
  huge.inputs = int64_t{1} << 15;
  huge.layers = {{int64_t{1} << 21, {.activation = "relu"}}};  // 2^36 weights: 256 GiB in fp32
  absl::StatusOr<std::unique_ptr<train::Engine>> engine = NewCudaEngine(huge);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kResourceExhausted) << engine.status();

  absl::StatusOr<Dataset> data = train::Generate({.name = "xor", .rows = 64, .seed = 1}, 1 << 20);
  ASSERT_TRUE(data.ok());
  TrainSpec small;
  small.inputs = 2;
  small.layers = {{8, {.activation = "tanh"}}, {2, {.activation = "identity"}}};
  small.loss = Loss::kSoftmaxCrossEntropy;
  small.epochs = 2;
  train::TrainOptions options;
  options.engine = [](const TrainSpec& s) { return NewCudaEngine(s); };
  absl::StatusOr<train::TrainResult> r = train::Train(small, *data, Dataset(), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, train::Outcome::kCompleted);
}

}  // namespace
}  // namespace actserve
