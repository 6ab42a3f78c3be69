// Train: runs one training job to its end on the calling thread, reporting progress and
// per-layer diagnostics as it goes; Predict: evaluates a network's weights on new rows.
//
// The arithmetic runs in an Engine (engine.h): the CPU's by default, the GPU's when the options
// give its factory. Deterministic: the same spec, data and engine (for the CPU, the same backend
// thread count) give bit-identical weights and progress.
#ifndef ACTSERVE_KERNELS_TRAIN_TRAINER_H_
#define ACTSERVE_KERNELS_TRAIN_TRAINER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kernels/backend.h"
#include "kernels/train/checkpoint.h"
#include "kernels/train/dataset.h"
#include "kernels/train/diagnostics.h"
#include "kernels/train/engine.h"
#include "kernels/train/spec.h"

namespace actserve::train {

struct Progress {
  int64_t epoch = 0;  // 1-based: the epoch this report ends or lies in
  int64_t step = 0;   // training steps done so far, all epochs
  bool epoch_end = false;
  double learning_rate = 0;
  // Over the period's batches (the weights change during it), without the L2 term.
  double train_loss = 0;
  double train_accuracy = 0;  // classification losses only (has_accuracy)
  bool has_accuracy = false;
  // On the whole validation set at the end of an epoch, when there is one.
  bool has_validation = false;
  double validation_loss = 0;
  double validation_accuracy = 0;
  std::vector<LayerDiagnostics> layers;
  double elapsed_seconds = 0;
};

enum class Outcome { kCompleted, kEarlyStopped, kCancelled, kFailed };

struct TrainResult {
  Outcome outcome = Outcome::kCompleted;
  // kFailed: why (the loss became NaN or Inf: FAILED_PRECONDITION; the wall-time limit:
  // DEADLINE_EXCEEDED); kCancelled: CANCELLED.
  absl::Status failure;
  std::vector<LayerWeights> weights;  // the final weights (the best ones after early stopping)
  int64_t epochs = 0, steps = 0;
  // The returned weights evaluated on the whole training and validation sets (not on failure).
  bool evaluated = false;
  double train_loss = 0, train_accuracy = 0;
  bool has_validation = false;
  double validation_loss = 0, validation_accuracy = 0;
  bool has_accuracy = false;
};

struct TrainOptions {
  // Where the job runs: `engine` makes its engine; when empty, the CPU engine computes with
  // `backend` (then required), on the calling thread.
  EngineFactory engine;
  Backend* backend = nullptr;
  // Called on the training thread after every reporting period.
  std::function<void(const Progress&)> on_progress;
  // Polled before every step and every evaluation chunk; true stops the job as kCancelled.
  std::function<bool()> stop_requested;
  absl::Duration max_wall_time = absl::InfiniteDuration();
  // Checkpoints: after every step between two steps of an epoch, after each epoch but the
  // last, and where stop_requested stops the run, `checkpoint_due(steps done)` is asked; when it
  // says yes, `on_checkpoint` gets the run's state (on the training thread; it may keep what it
  // needs). Both empty: none are taken, nor are they where the engine cannot save its state
  // (Engine::SaveState).
  std::function<bool(int64_t step)> checkpoint_due;
  std::function<void(const TrainCheckpoint&)> on_checkpoint;
  // Resume from a checkpoint an earlier run of the same spec, data and engine kind took: the run
  // continues with the steps, reports and result the uninterrupted run has after it. The wall
  // time limit and elapsed_seconds count the checkpoint's elapsed time. INVALID_ARGUMENT when it
  // does not fit the spec.
  const TrainCheckpoint* resume_from = nullptr;
};

// Trains the network `spec` describes on `train` (validation: `validation`, or the spec's split
// of `train`). Both must have passed Validate. The data is consumed: it is released, with every
// working buffer, before Train returns. The outcome is in the result: a loss that becomes NaN or
// Inf fails the job with FAILED_PRECONDITION naming the epoch and step; exceeding max_wall_time
// fails it with DEADLINE_EXCEEDED. Errors of the engine are returned as they are.
absl::StatusOr<TrainResult> Train(const TrainSpec& spec, Dataset train, Dataset validation,
                                  const TrainOptions& options);

// Evaluates the network `spec` describes with `weights` (shaped as Network::Weights gives them)
// on `x`'s features, in the spec's dtype, in inference mode. Returns rows x outputs values: the
// output layer's values (logits for the cross-entropy losses).
absl::StatusOr<std::vector<double>> Predict(const TrainSpec& spec,
                                            const std::vector<LayerWeights>& weights,
                                            const Dataset& x, Backend& backend);

// The size of a data set without its values: enough to estimate a job before its data exists
// (generated data is made when the job starts).
struct DataShape {
  int64_t rows = 0, features = 0, target_width = 1;
};
DataShape ShapeOf(const Dataset& data);

// An upper bound on the bytes Train allocates for `spec` on data of these shapes, the data
// handed to it included: the server charges it to its memory budget before queueing a job.
size_t EstimateJobBytes(const TrainSpec& spec, const DataShape& train, const DataShape& validation);
inline size_t EstimateJobBytes(const TrainSpec& spec, const Dataset& train,
                               const Dataset& validation) {
  return EstimateJobBytes(spec, ShapeOf(train), ShapeOf(validation));
}

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_TRAINER_H_
