// TrainCheckpoint: everything a training run holds between two steps, so that a run resumed from
// it (TrainOptions::resume_from) takes exactly the steps, reports and weights the uninterrupted
// run would have: the weights, the engine's optimizer moments and diagnostic sums, the reporting
// period's sums, early stopping's state. The data order and the activation noise are functions of
// the seed, the epoch and the step counter (trainer.cc), so the step counter is their position.
//
// Plain values on core types; the server encodes them (server/jobs/record_codec.h).
#ifndef ACTSERVE_KERNELS_TRAIN_CHECKPOINT_H_
#define ACTSERVE_KERNELS_TRAIN_CHECKPOINT_H_

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/train/diagnostics.h"
#include "kernels/train/spec.h"

namespace actserve::train {

// An engine's state besides its data and weights, in double (exact for float32 engines).
struct EngineState {
  int64_t optimizer_steps = 0;
  // Per tensor, in the optimizer's order: the first and second moments (empty where the rule
  // keeps none).
  std::vector<std::vector<double>> first_moments, second_moments;
  std::vector<LayerStats> stats;  // per layer: the reporting period's diagnostic sums
};

struct TrainCheckpoint {
  int64_t step = 0;  // steps done: the resumed run's next step is `step` + 1
  double elapsed_seconds = 0;
  std::vector<LayerWeights> weights;
  EngineState engine;
  // The reporting period so far.
  double period_loss_sum = 0;
  int64_t period_rows = 0, period_correct = 0, period_predicted = 0;
  // Early stopping: the best monitored loss, epochs waited, the best weights.
  double best = INFINITY;
  int64_t waited = 0;
  std::vector<LayerWeights> best_weights;
  // The last report's metrics, for a cancelled job's result.
  double last_train_loss = 0, last_train_accuracy = 0;
  bool last_train_measured = false;
  double last_validation_loss = 0, last_validation_accuracy = 0;
  bool last_validation_measured = false;
};

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_CHECKPOINT_H_
