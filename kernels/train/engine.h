// Engine: where a training job's arithmetic runs. It holds the job's data, network, gradients,
// optimizer state and diagnostic sums on one device, and does the work of a step; Train
// (trainer.h) drives it: the epochs, the batch order, the reports, stopping and early stopping.
//
// Two engines exist: the CPU's (cpu_engine.h: Eigen and a catalog Backend) and the GPU's
// (kernels/cuda/cuda_engine.h: cuBLAS and the catalog's CUDA kernels). For the same spec and
// seed they see the same data order, initial weights and activation noise.
//
// An engine is used by one thread at a time.
#ifndef ACTSERVE_KERNELS_TRAIN_ENGINE_H_
#define ACTSERVE_KERNELS_TRAIN_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kernels/train/dataset.h"
#include "kernels/train/diagnostics.h"
#include "kernels/train/spec.h"

namespace actserve::train {

// The loss of a batch or a whole set: the mean (without the L2 term), and for the classification
// losses the correct predictions out of `predicted` (rows, or elements for sigmoid).
struct BatchLoss {
  double loss = 0;
  int64_t correct = 0;
  int64_t predicted = 0;
};

enum class Split { kTrain, kValidation };

// Rows per chunk when an engine evaluates a whole set in inference mode.
inline constexpr int64_t kEvalRows = 4096;

class Engine {
 public:
  virtual ~Engine() = default;

  // Takes a copy of the job's data in the job's dtype. Called once, before anything else; the
  // sets have passed Validate against the engine's spec (`validation` may be empty).
  virtual absl::Status Load(const Dataset& train, const Dataset& validation) = 0;

  // Replaces the network's weights (shaped as Network::InitialWeights gives them).
  virtual absl::Status SetWeights(const std::vector<LayerWeights>& weights) = 0;
  virtual absl::StatusOr<std::vector<LayerWeights>> Weights() = 0;

  // The permutation of the training rows that the next epoch's steps take their batches from.
  virtual absl::Status BeginEpoch(absl::Span<const int64_t> order) = 0;

  // One training step on the rows order[begin, begin + rows): the forward pass in training mode
  // (activation noise keyed by `noise_seed`), the loss, and unless the loss is NaN or infinite,
  // the backward pass, the period's diagnostic sums and the optimizer's update with learning
  // rate `lr`. A non-finite loss leaves the weights as they were.
  virtual absl::StatusOr<BatchLoss> Step(int64_t begin, int64_t rows, double lr,
                                         uint64_t noise_seed) = 0;

  // The loss of the current weights on a whole set, in inference mode, in chunks of kEvalRows;
  // CANCELLED when `stop` (may be empty) returns true before a chunk.
  virtual absl::StatusOr<BatchLoss> Evaluate(Split split, const std::function<bool()>& stop) = 0;

  // Every layer's diagnostics since the last call (or the first step), and a new period.
  virtual absl::StatusOr<std::vector<LayerDiagnostics>> TakeDiagnostics() = 0;
};

// Makes the engine for a spec that has passed Validate.
using EngineFactory = std::function<absl::StatusOr<std::unique_ptr<Engine>>(const TrainSpec&)>;

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_ENGINE_H_
