// Engine: where a training job's arithmetic runs. It holds the job's data, network, gradients,
// optimizer state and diagnostic sums on one device, and does the work of a step; Train
// (trainer.h) drives it: the epochs, the batch order, the reports, stopping and early stopping.
//
// Two engines exist: the CPU's (cpu_engine.h: Eigen and a catalog Backend) and the GPU's
// (kernels/cuda/cuda_engine.h: cuBLAS and the catalog's CUDA kernels). For the same spec and
// seed they see the same data order, initial weights and activation noise.
//
// Step and Evaluate are written once, here (engine.cc): they call an engine's parts in a fixed
// order, so the CPU and GPU engines cannot drift apart. An engine implements the parts.
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
#include "kernels/train/checkpoint.h"
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
  // rate `lr` (L2 on the weights only). A non-finite loss leaves the weights as they were.
  absl::StatusOr<BatchLoss> Step(int64_t begin, int64_t rows, double lr, uint64_t noise_seed);

  // The loss of the current weights on a whole set, in inference mode, in chunks of kEvalRows;
  // CANCELLED when `stop` (may be empty) returns true before a chunk.
  absl::StatusOr<BatchLoss> Evaluate(Split split, const std::function<bool()>& stop);

  // Every layer's diagnostics since the last call (or the first step), and a new period.
  virtual absl::StatusOr<std::vector<LayerDiagnostics>> TakeDiagnostics() = 0;

  // The optimizer's step count and moments and the period's diagnostic sums, for a checkpoint;
  // RestoreState (after SetWeights) puts them back. UNIMPLEMENTED where the engine cannot: its
  // jobs are not checkpointed, and resume from their first step.
  virtual absl::StatusOr<EngineState> SaveState() {
    return absl::UnimplementedError("this engine's state cannot be checkpointed");
  }
  virtual absl::Status RestoreState(const EngineState& /*state*/) {
    return absl::UnimplementedError("this engine's state cannot be checkpointed");
  }

 protected:
  // The tensors of a layer that the optimizer updates.
  enum class TensorKind { kWeights, kBias, kParam };

  // ---- The parts of Step and Evaluate; only they call these, in their order. ----

  // Makes the training rows order[begin, begin + rows) the current batch (Step's first part).
  virtual absl::Status GatherBatch(int64_t begin, int64_t rows) = 0;
  // Rows of a set, and makes rows [begin, begin + rows) of it the current batch.
  virtual int64_t Rows(Split split) const = 0;
  virtual absl::Status SliceBatch(Split split, int64_t begin, int64_t rows) = 0;
  // Every layer's forward pass over the current batch.
  virtual absl::Status Forward(bool training, uint64_t noise_seed) = 0;
  // The current batch's loss, with dLoss/d(output) kept for Backward.
  virtual absl::StatusOr<BatchLoss> BatchLossAndGradient() = 0;
  // Evaluate's running loss: cleared (Evaluate's first part), the current batch's loss added,
  // and the total as a loss over `rows` rows.
  virtual absl::Status ClearLossSum() = 0;
  virtual absl::Status AddToLossSum() = 0;
  virtual absl::StatusOr<BatchLoss> LossSum(int64_t rows) = 0;
  // Backpropagates the kept gradient: every tensor's gradient and each layer's f'(z).
  virtual absl::Status Backward() = 0;
  // Adds the step to the period's diagnostic sums.
  virtual absl::Status AccumulateDiagnostics() = 0;
  // Starts the optimizer's step (its step count), then updates one tensor of layer `layer`.
  virtual void BeginUpdate() = 0;
  virtual absl::Status Update(size_t layer, TensorKind tensor, double lr, double l2) = 0;
  virtual size_t LayerCount() const = 0;
  virtual bool Learnable(size_t layer) const = 0;  // whether the layer has a learnable parameter
  virtual bool Frozen(size_t layer) const = 0;     // whether Step leaves the layer as it is
  virtual double l2() const = 0;                   // the L2 coefficient of the weights
};

// Makes the engine for a spec that has passed Validate.
using EngineFactory = std::function<absl::StatusOr<std::unique_ptr<Engine>>(const TrainSpec&)>;

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_ENGINE_H_
