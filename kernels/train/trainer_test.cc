#include "kernels/train/trainer.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"

namespace actserve::train {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> backend_ = NewCpuBackend({.threads = 1});

  static TrainSpec Classifier(int64_t inputs, std::vector<int64_t> hidden, const char* activation,
                              int64_t classes) {
    TrainSpec spec;
    spec.inputs = inputs;
    for (int64_t units : hidden) spec.layers.push_back({units, {.activation = activation}});
    spec.layers.push_back({classes, {.activation = "identity"}});
    spec.loss = Loss::kSoftmaxCrossEntropy;
    return spec;
  }

  static Dataset Data(const char* name, int64_t rows, uint64_t seed = 1) {
    absl::StatusOr<Dataset> d = Generate({.name = name, .rows = rows, .seed = seed}, 1 << 20);
    EXPECT_TRUE(d.ok()) << d.status();
    return *d;
  }

  TrainResult Run(const TrainSpec& spec, const Dataset& data,
                  std::vector<Progress>* progress = nullptr, std::function<bool()> stop = nullptr) {
    EXPECT_TRUE(Validate(spec, data, Dataset(), Limits()).ok())
        << Validate(spec, data, Dataset(), Limits());
    TrainOptions options;
    options.backend = backend_.get();
    if (progress) options.on_progress = [progress](const Progress& p) { progress->push_back(p); };
    options.stop_requested = std::move(stop);
    absl::StatusOr<TrainResult> r = Train(spec, data, Dataset(), options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : TrainResult();
  }
};

TEST_F(TrainerTest, XorReachesNinetyNinePercentWithTanh) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.optimizer = {.kind = OptimizerKind::kMomentum, .learning_rate = 0.1};
  spec.batch_size = 16;
  spec.epochs = 60;
  spec.seed = 1;
  TrainResult r = Run(spec, Data("xor", 400));
  EXPECT_EQ(r.outcome, Outcome::kCompleted);
  EXPECT_GE(r.train_accuracy, 0.99);
}

TEST_F(TrainerTest, TwoSpiralsReachNinetyFivePercentWithRelu) {
  TrainSpec spec = Classifier(2, {64, 64}, "relu", 2);
  spec.optimizer = {.kind = OptimizerKind::kAdam, .learning_rate = 0.01};
  spec.init = Init::kHe;
  spec.batch_size = 32;
  spec.epochs = 300;
  spec.seed = 2;
  TrainResult r = Run(spec, Data("two_spirals", 400));
  EXPECT_GE(r.train_accuracy, 0.95);
}

TEST_F(TrainerTest, TwoSpiralsReachNinetyFivePercentWithTanh) {
  TrainSpec spec = Classifier(2, {64, 64}, "tanh", 2);
  spec.optimizer = {.kind = OptimizerKind::kAdam, .learning_rate = 0.01};
  spec.batch_size = 32;
  spec.epochs = 1000;
  spec.seed = 2;
  TrainResult r = Run(spec, Data("two_spirals", 400));
  EXPECT_GE(r.train_accuracy, 0.95);
}

TEST_F(TrainerTest, SameSpecAndSeedGiveBitIdenticalWeightsAndProgress) {
  TrainSpec spec = Classifier(2, {16, 16}, "rrelu", 3);  // stochastic in training: noise too
  spec.optimizer = {.kind = OptimizerKind::kAdam, .learning_rate = 0.01};
  spec.epochs = 5;
  spec.validation_fraction = 0.2;
  spec.seed = 42;
  Dataset data = Data("blobs", 300);
  std::vector<Progress> pa, pb;
  TrainResult a = Run(spec, data, &pa), b = Run(spec, data, &pb);
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (size_t l = 0; l < a.weights.size(); ++l) {
    EXPECT_EQ(a.weights[l].weights, b.weights[l].weights);
    EXPECT_EQ(a.weights[l].bias, b.weights[l].bias);
  }
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].train_loss, pb[i].train_loss);
    EXPECT_EQ(pa[i].validation_loss, pb[i].validation_loss);
    EXPECT_EQ(pa[i].layers[0].gradient_norm, pb[i].layers[0].gradient_norm);
  }
  spec.seed = 43;
  TrainResult c = Run(spec, data);
  EXPECT_NE(a.weights[0].weights, c.weights[0].weights);
}

TEST_F(TrainerTest, DeepSigmoidNetworkShowsVanishingGradientsInEarlyLayers) {
  TrainSpec spec = Classifier(2, {32, 32, 32, 32, 32, 32, 32, 32}, "sigmoid", 2);
  spec.optimizer.learning_rate = 0.1;
  spec.epochs = 3;
  std::vector<Progress> progress;
  Run(spec, Data("moons", 256), &progress);
  ASSERT_FALSE(progress.empty());
  const std::vector<LayerDiagnostics>& layers = progress.back().layers;
  // Each sigmoid layer scales the backpropagated signal by at most 1/4 times ||W||: the first
  // layer's gradient is orders of magnitude below the last hidden layer's.
  EXPECT_LT(layers[0].gradient_norm, 1e-3 * layers[7].gradient_norm)
      << "first " << layers[0].gradient_norm << ", last hidden " << layers[7].gradient_norm;
  for (size_t l = 1; l < 8; ++l) EXPECT_LT(layers[l - 1].gradient_norm, layers[l].gradient_norm);
}

TEST_F(TrainerTest, ReluAtAHighLearningRateShowsDeadUnits) {
  TrainSpec spec = Classifier(2, {64, 64}, "relu", 3);
  spec.init = Init::kHe;
  spec.seed = 3;
  spec.epochs = 5;
  Dataset data = Data("blobs", 512);
  spec.optimizer.learning_rate = 0.01;
  std::vector<Progress> calm, hot;
  Run(spec, data, &calm);
  spec.optimizer.learning_rate = 0.3;  // 30x the calm rate
  TrainResult r = Run(spec, data, &hot);
  ASSERT_FALSE(calm.empty());
  ASSERT_FALSE(hot.empty()) << r.failure;
  EXPECT_LT(calm.back().layers[1].dead_fraction, 0.1);
  EXPECT_LT(calm.back().layers[0].dead_fraction, 0.1);
  EXPECT_GT(std::max(hot.back().layers[0].dead_fraction, hot.back().layers[1].dead_fraction), 0.4)
      << "layer 0 " << hot.back().layers[0].dead_fraction << ", layer 1 "
      << hot.back().layers[1].dead_fraction;
  EXPECT_TRUE(hot.back().layers[0].has_derivative_stats);
}

TEST_F(TrainerTest, SaturatedTanhUnitsAreCounted) {
  TrainSpec spec = Classifier(2, {16}, "tanh", 2);
  spec.init = Init::kUniform;
  spec.init_scale = 50;  // pre-activations far in the tails
  spec.epochs = 1;
  std::vector<Progress> progress;
  Run(spec, Data("xor", 64), &progress);
  EXPECT_GT(progress.back().layers[0].saturated_fraction, 0.8);
}

TEST_F(TrainerTest, ADivergingLossFailsTheJobWithItsReason) {
  TrainSpec spec;
  spec.inputs = 1;
  spec.layers = {{16, {.activation = "relu"}}, {1, {.activation = "identity"}}};
  spec.loss = Loss::kMeanSquaredError;
  spec.optimizer.learning_rate = 1e6;
  spec.epochs = 50;
  TrainResult r = Run(spec, Data("sine", 64));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.failure.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.failure.message().find("the training loss became"), std::string::npos) << r.failure;
}

TEST_F(TrainerTest, StopRequestCancelsBeforeTheNextStep) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.epochs = 1000;
  std::atomic<int> polls{0};
  TrainResult r = Run(spec, Data("xor", 64), nullptr, [&] { return ++polls > 10; });
  EXPECT_EQ(r.outcome, Outcome::kCancelled);
  EXPECT_EQ(r.steps, 10);
}

TEST_F(TrainerTest, CancelledJobReportsItsLastRealMetrics) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.epochs = 1000;
  spec.batch_size = 16;
  spec.validation_fraction = 0.25;  // 48 training rows: 3 steps an epoch
  std::vector<Progress> progress;
  // Two epochs (two reports) and one step, then the next poll cancels.
  int polls_after = 0;
  TrainResult r = Run(spec, Data("xor", 64), &progress,
                      [&] { return progress.size() >= 2 && ++polls_after > 1; });
  ASSERT_EQ(r.outcome, Outcome::kCancelled);
  ASSERT_EQ(r.steps, 7);
  ASSERT_EQ(progress.size(), 2u);
  // The seventh step's batch, not a re-evaluation and not zero.
  EXPECT_TRUE(std::isfinite(r.train_loss));
  EXPECT_GT(r.train_loss, 0.1);
  EXPECT_NE(r.train_loss, progress.back().train_loss);
  EXPECT_GT(r.train_accuracy, 0.0);
  ASSERT_TRUE(r.has_validation);
  EXPECT_EQ(r.validation_loss, progress.back().validation_loss);
  EXPECT_EQ(r.validation_accuracy, progress.back().validation_accuracy);

  // Cancelled at an epoch's end: the last report's training metrics.
  progress.clear();
  r = Run(spec, Data("xor", 64), &progress, [&] { return progress.size() >= 2; });
  ASSERT_EQ(r.steps, 6);
  EXPECT_EQ(r.train_loss, progress.back().train_loss);
  EXPECT_EQ(r.train_accuracy, progress.back().train_accuracy);

  // Cancelled before any step: nothing was measured, no validation is claimed.
  r = Run(spec, Data("xor", 64), nullptr, [] { return true; });
  EXPECT_EQ(r.steps, 0);
  EXPECT_FALSE(r.has_validation);
}

// Bytes the allocator has handed out and not taken back (every arena, and mmapped blocks).
int64_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

// The server charges a job EstimateJobBytes against its memory budget before queueing it: the
// estimate must bound what training really allocates, sampled every 100 microseconds.
TEST_F(TrainerTest, EstimateBoundsWhatTrainingAllocates) {
  struct Case {
    const char* what;
    int64_t rows, batch, units;
    double validation_fraction;
    DType dtype;
  } cases[] = {
      {"one large batch", 20000, 20000, 256, 0.0, DType::kFloat32},
      {"many rows, small batches", 200000, 32, 8, 0.2, DType::kFloat32},
      {"wide layer in float64", 8192, 512, 1024, 0.1, DType::kFloat64},
  };
  for (const Case& c : cases) {
    TrainSpec spec = Classifier(2, {c.units, c.units}, "tanh", 2);
    spec.batch_size = c.batch;
    spec.epochs = 2;
    spec.validation_fraction = c.validation_fraction;
    spec.dtype = c.dtype;
    spec.patience = 5;  // keeps a copy of the best weights
    Dataset data = Data("two_spirals", c.rows);
    const int64_t estimate = static_cast<int64_t>(EstimateJobBytes(spec, data, Dataset()));
    malloc_trim(0);
    const int64_t base = HeapInUse();
    std::atomic<bool> done{false};
    std::atomic<int64_t> peak{0};
    std::thread sampler([&] {
      while (!done.load()) {
        peak.store(std::max(peak.load(), HeapInUse() - base));
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    // The data is handed over (moved) as the job manager hands it: its bytes count.
    Dataset copy = data;
    const int64_t with_data = HeapInUse() - base;
    TrainOptions options;
    options.backend = backend_.get();
    absl::StatusOr<TrainResult> r = Train(spec, std::move(copy), Dataset(), options);
    done = true;
    sampler.join();
    ASSERT_TRUE(r.ok()) << c.what << ": " << r.status();
    const int64_t used = std::max(peak.load(), with_data);
    std::printf("%s: training used %.1f MiB, estimated %.1f MiB\n", c.what, used / 1048576.0,
                estimate / 1048576.0);
    EXPECT_LE(used, estimate) << c.what << ": training used " << used << " bytes, estimated "
                              << estimate;
    // And not wildly above: an estimate that refuses jobs which would fit is a defect too.
    EXPECT_LE(estimate, 8 * used + (int64_t{64} << 20)) << c.what;
  }
}

TEST_F(TrainerTest, EarlyStoppingStopsOnAPlateauAndKeepsTheBestWeights) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.optimizer.learning_rate = 1e-9;  // nothing improves
  spec.epochs = 100;
  spec.patience = 3;
  spec.min_delta = 1e-3;
  spec.validation_fraction = 0.25;
  std::vector<Progress> progress;
  TrainResult r = Run(spec, Data("moons", 200), &progress);
  EXPECT_EQ(r.outcome, Outcome::kEarlyStopped);
  EXPECT_EQ(r.epochs, 4);
  EXPECT_TRUE(r.has_validation);
  EXPECT_TRUE(progress.back().has_validation);
}

TEST_F(TrainerTest, AdamFitsSineRegression) {
  TrainSpec spec;
  spec.inputs = 1;
  spec.layers = {
      {32, {.activation = "tanh"}}, {32, {.activation = "tanh"}}, {1, {.activation = "identity"}}};
  spec.loss = Loss::kMeanSquaredError;
  spec.optimizer = {.kind = OptimizerKind::kAdam, .learning_rate = 0.01};
  spec.epochs = 100;
  TrainResult r = Run(spec, Data("sine", 256));
  EXPECT_FALSE(r.has_accuracy);
  EXPECT_LT(r.train_loss, 0.02);  // the noise alone is 0.01
}

TEST_F(TrainerTest, StepReportsComeBetweenEpochReports) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.batch_size = 10;
  spec.epochs = 2;
  spec.report_every_steps = 3;
  std::vector<Progress> progress;
  Run(spec, Data("xor", 100), &progress);
  // 10 steps an epoch: reports after steps 3, 6, 9, 10 (epoch), 12, 15, 18, 20 (epoch).
  std::vector<int64_t> steps;
  for (const Progress& p : progress) steps.push_back(p.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{3, 6, 9, 10, 12, 15, 18, 20}));
  EXPECT_TRUE(progress[3].epoch_end);
  EXPECT_EQ(progress[4].epoch, 2);
}

TEST_F(TrainerTest, PredictReproducesTheTrainedModelsAccuracy) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.optimizer = {.kind = OptimizerKind::kMomentum, .learning_rate = 0.1};
  spec.epochs = 60;
  spec.batch_size = 16;
  Dataset data = Data("xor", 400);
  TrainResult r = Run(spec, data);
  absl::StatusOr<std::vector<double>> out = Predict(spec, r.weights, data, *backend_);
  ASSERT_TRUE(out.ok()) << out.status();
  int correct = 0;
  for (int64_t i = 0; i < data.rows; ++i)
    correct += ((*out)[2 * i + 1] > (*out)[2 * i]) == (data.y[i] == 1);
  EXPECT_NEAR(correct / 400.0, r.train_accuracy, 1e-12);
}

// A run resumed from any of its checkpoints takes the uninterrupted run's remaining steps: the
// same reports (but their times) and bit-identical weights, with shuffling, rrelu's training
// noise, Adam with L2, a learnable parameter, mid-epoch reports and early stopping's state.
TEST_F(TrainerTest, ResumedFromAnyCheckpointEndsBitIdentical) {
  for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
    TrainSpec spec = Classifier(2, {12, 12}, "rrelu", 3);
    spec.layers[1].activation.activation = "prelu";
    spec.dtype = dtype;
    spec.optimizer = {.kind = OptimizerKind::kAdam, .learning_rate = 0.01, .l2 = 1e-3};
    spec.epochs = 4;
    spec.batch_size = 32;
    spec.report_every_steps = 3;
    spec.validation_fraction = 0.2;
    spec.patience = 3;
    spec.seed = 9;
    Dataset data = Data("blobs", 300);
    ASSERT_TRUE(Validate(spec, data, Dataset(), Limits()).ok());

    auto train = [&](const TrainCheckpoint* from, std::vector<Progress>* progress,
                     std::vector<TrainCheckpoint>* checkpoints) {
      TrainOptions options;
      options.backend = backend_.get();
      options.on_progress = [progress](const Progress& p) { progress->push_back(p); };
      options.checkpoint_due = [](int64_t) { return true; };
      options.on_checkpoint = [checkpoints](const TrainCheckpoint& c) {
        if (checkpoints != nullptr) checkpoints->push_back(c);
      };
      options.resume_from = from;
      absl::StatusOr<TrainResult> r = Train(spec, data, Dataset(), options);
      EXPECT_TRUE(r.ok()) << r.status();
      return r.ok() ? *r : TrainResult();
    };
    std::vector<Progress> whole;
    std::vector<TrainCheckpoint> checkpoints;
    const TrainResult expected = train(nullptr, &whole, &checkpoints);
    ASSERT_EQ(checkpoints.size(), 4u * 8 - 1);  // 8 steps an epoch; none after the last step

    for (const TrainCheckpoint& c : checkpoints) {
      SCOPED_TRACE(testing::Message()
                   << "dtype " << static_cast<int>(dtype) << ", step " << c.step);
      std::vector<Progress> rest;
      const TrainResult resumed = train(&c, &rest, nullptr);
      EXPECT_EQ(resumed.steps, expected.steps);
      EXPECT_EQ(resumed.epochs, expected.epochs);
      EXPECT_EQ(resumed.train_loss, expected.train_loss);
      EXPECT_EQ(resumed.validation_loss, expected.validation_loss);
      ASSERT_EQ(resumed.weights.size(), expected.weights.size());
      for (size_t l = 0; l < expected.weights.size(); ++l) {
        EXPECT_EQ(resumed.weights[l].weights, expected.weights[l].weights);
        EXPECT_EQ(resumed.weights[l].bias, expected.weights[l].bias);
        EXPECT_EQ(resumed.weights[l].activation_param, expected.weights[l].activation_param);
      }
      // The reports after the checkpoint's step, field by field.
      std::vector<Progress> tail;
      for (const Progress& p : whole) {
        if (p.step > c.step) tail.push_back(p);
      }
      ASSERT_EQ(rest.size(), tail.size());
      for (size_t i = 0; i < tail.size(); ++i) {
        EXPECT_EQ(rest[i].step, tail[i].step);
        EXPECT_EQ(rest[i].epoch, tail[i].epoch);
        EXPECT_EQ(rest[i].train_loss, tail[i].train_loss);
        EXPECT_EQ(rest[i].validation_loss, tail[i].validation_loss);
        ASSERT_EQ(rest[i].layers.size(), tail[i].layers.size());
        for (size_t l = 0; l < tail[i].layers.size(); ++l) {
          EXPECT_EQ(rest[i].layers[l].gradient_norm, tail[i].layers[l].gradient_norm);
          EXPECT_EQ(rest[i].layers[l].dead_fraction, tail[i].layers[l].dead_fraction);
          EXPECT_EQ(rest[i].layers[l].activation_std, tail[i].layers[l].activation_std);
        }
      }
      EXPECT_GE(rest.empty() ? c.elapsed_seconds : rest[0].elapsed_seconds, c.elapsed_seconds);
    }
  }
}

// A run stopped from outside (a server suspending its jobs) checkpoints the step it stopped
// at, mid-epoch or at an epoch's start, and a run resumed from there ends bit-identical.
TEST_F(TrainerTest, AStoppedRunCheckpointsWhereItStops) {
  TrainSpec spec = Classifier(2, {8}, "rrelu", 2);
  spec.optimizer = {.kind = OptimizerKind::kAdam, .learning_rate = 0.01};
  spec.epochs = 3;
  spec.batch_size = 16;
  spec.report_every_steps = 1;      // the stop below counts steps by their reports
  Dataset data = Data("xor", 128);  // 8 steps an epoch
  const TrainResult expected = Run(spec, data);
  for (int64_t stop_at : {1, 5, 7, 8, 9, 16}) {
    SCOPED_TRACE(testing::Message() << "stopped after step " << stop_at);
    int64_t done = 0;
    std::vector<TrainCheckpoint> checkpoints;
    TrainOptions options;
    options.backend = backend_.get();
    options.on_progress = [&done](const Progress& p) { done = p.step; };
    options.stop_requested = [&done, stop_at] { return done >= stop_at; };
    options.checkpoint_due = [&done, stop_at](int64_t) { return done >= stop_at; };
    options.on_checkpoint = [&checkpoints](const TrainCheckpoint& c) { checkpoints.push_back(c); };
    absl::StatusOr<TrainResult> stopped = Train(spec, data, Dataset(), options);
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    EXPECT_EQ(stopped->steps, stop_at);
    ASSERT_FALSE(checkpoints.empty());
    EXPECT_EQ(checkpoints.back().step, stop_at);

    TrainOptions resume;
    resume.backend = backend_.get();
    resume.resume_from = &checkpoints.back();
    absl::StatusOr<TrainResult> rest = Train(spec, data, Dataset(), resume);
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(rest->steps, expected.steps);
    EXPECT_EQ(rest->train_loss, expected.train_loss);
    for (size_t l = 0; l < expected.weights.size(); ++l) {
      EXPECT_EQ(rest->weights[l].weights, expected.weights[l].weights);
      EXPECT_EQ(rest->weights[l].bias, expected.weights[l].bias);
    }
  }
}

TEST_F(TrainerTest, ACheckpointOfAnotherNetworkIsRefused) {
  TrainSpec spec = Classifier(2, {8}, "tanh", 2);
  spec.epochs = 1;
  Dataset data = Data("xor", 64);
  TrainCheckpoint c;
  c.step = 1;
  c.weights.resize(2);  // empty tensors: not this network's
  TrainOptions options;
  options.backend = backend_.get();
  options.resume_from = &c;
  absl::StatusOr<TrainResult> r = Train(spec, data, Dataset(), options);
  EXPECT_FALSE(r.ok());
  c.step = 1000;  // past the job's last step
  r = Train(spec, data, Dataset(), options);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
}

}  // namespace
}  // namespace actserve::train
