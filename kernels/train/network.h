// Network<T>: a multilayer perceptron in float or double, its forward pass (matrix products by
// Eigen, activations by a Backend from the catalog), its backward pass and its losses.
//
// A Network is not thread-safe; each training job owns one. The Backend it is given must outlive
// the calls that use it.
#ifndef ACTSERVE_KERNELS_TRAIN_NETWORK_H_
#define ACTSERVE_KERNELS_TRAIN_NETWORK_H_

#include <cstdint>
#include <vector>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/train/engine.h"  // BatchLoss
#include "kernels/train/spec.h"

namespace actserve::train {

// A layer's shape and activation, as every engine builds it from the spec.
struct LayerPlan {
  int64_t inputs = 0, units = 0, outputs = 0;  // outputs: after the activation
  ActivationCall call;                         // prepared for [1, units]
  int learnable = -1;   // the index of the parameter training updates (not frozen), or -1
  bool frozen = false;  // the weights and bias are not updated (LayerSpec::frozen)
};

// The plan of every layer of `spec`. INVALID_ARGUMENT for a bad activation.
absl::StatusOr<std::vector<LayerPlan>> PlanLayers(const TrainSpec& spec);

// The starting values of the call's learnable parameter `param`: the weights' own when they
// have some, else the call's (the spec's or the catalog's default).
const std::vector<double>& ParamValues(const ActivationCall& call, int param,
                                       const LayerWeights& weights);

template <typename T>
class Network {
 public:
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

  // A layer's plan (shapes; `call` is re-pointed at each batch's rows) and its values.
  struct Layer : LayerPlan {
    Matrix w;         // units x inputs
    RowVector b;      // units
    RowVector param;  // the learnable parameter's values (when `learnable` >= 0)
    // Values of the last Forward: pre-activations z and outputs a, one row per sample.
    Matrix z, a;
    // Backward's scratch, per layer so that sizes stay put from step to step (no reallocation):
    // dLoss/dz, dLoss/d(input), and ones for f'.
    Matrix dz, d_input, ones;
  };

  // The gradients of the loss for every trainable value, shaped like the layers.
  struct Gradients {
    std::vector<Matrix> w;
    std::vector<RowVector> b, param;
  };

  // A network shaped by `spec` with its weights from `weights` (one per layer, shapes checked by
  // Validate). INVALID_ARGUMENT for a bad activation.
  static absl::StatusOr<Network> Create(const TrainSpec& spec,
                                        const std::vector<LayerWeights>& weights);
  // The initial weights the spec asks for (its init, drawn with its seed, or the explicit ones).
  // The spec must have passed Validate.
  static std::vector<LayerWeights> InitialWeights(const TrainSpec& spec);

  // `rows` x `cols` values, row by row, in T.
  static Matrix FromRows(const std::vector<double>& values, int64_t rows, int64_t cols) {
    return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
               values.data(), rows, cols)
        .template cast<T>();
  }

  std::vector<Layer>& layers() { return layers_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const Matrix& output() const { return layers_.back().a; }
  std::vector<LayerWeights> Weights() const;

  // Evaluates the network on `x` (rows x inputs), keeping every layer's z and a. `training`
  // selects the training behaviour of stochastic activations, whose noise `seed` keys.
  absl::Status Forward(Backend& backend, const Matrix& x, bool training, uint64_t seed);

  // The loss of output() against `targets` (rows x target_width, see Dataset); when `grad` is not
  // null it receives dLoss/d(output).
  BatchLoss ComputeLoss(Loss loss, const Matrix& targets, Matrix* grad) const;

  // Backpropagates `grad_output` (dLoss/d(output)) through the last Forward on `x`, writing every
  // gradient into `grads` (resized as needed). `fprime`, if not null, receives each layer's
  // activation derivative f'(z) (elementwise activations only; other layers get an empty matrix).
  absl::Status Backward(Backend& backend, const Matrix& x, const Matrix& grad_output,
                        Gradients* grads, std::vector<Matrix>* fprime);

 private:
  std::vector<Layer> layers_;
  ParamGradients param_grads_;
};

// Points a call prepared for [1, units] at a batch of `rows` rows.
void SetBatchRows(ActivationCall& call, int64_t rows);

extern template class Network<float>;
extern template class Network<double>;

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_NETWORK_H_
