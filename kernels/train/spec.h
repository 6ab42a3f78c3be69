// TrainSpec: what a training job is, as the compute core sees it (the service converts its
// protobuf description into this), and the validation every job passes before it is accepted.
#ifndef ACTSERVE_KERNELS_TRAIN_SPEC_H_
#define ACTSERVE_KERNELS_TRAIN_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kernels/call.h"
#include "kernels/train/dataset.h"
#include "kernels/train/update_rule.h"  // OptimizerKind

namespace actserve::train {

// One dense layer: z = x W^T + b, then the activation along the units axis. `units` is the
// width of z; the layer's output width is the activation's (maxout and glu narrow it).
struct LayerSpec {
  int64_t units = 0;
  CallSpec activation;  // `shape` is ignored: the trainer sets it to [batch, units]
  // Keep the activation's learnable parameter (prelu's a, elu's a, swish's b) at its given value
  // instead of training it.
  bool freeze_params = false;
  // Keep the layer's weights, bias and learnable parameter at their initial values. A layer
  // whose activation passes no gradient (the catalog's gradient_flows), and every layer before
  // it, must be frozen: nothing could train them (Validate).
  bool frozen = false;
};

// The loss reads the output layer's values. Both cross-entropies take them as logits and fuse
// the softmax / sigmoid into the loss (log-sum-exp and log1p(exp(-|x|)) forms); their output
// activation is normally `identity`.
enum class Loss {
  kMeanSquaredError,     // mean over every output element
  kSoftmaxCrossEntropy,  // targets: class indices; mean over rows; needs >= 2 outputs
  kSigmoidCrossEntropy,  // targets in [0, 1], one per output; mean over every output element
};

// The update rules are OptimizerKind's (update_rule.h).
// Learning-rate schedule, applied per epoch: step: lr * gamma^(epoch / step_epochs);
// cosine: min_lr + (lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2.
enum class Schedule { kConstant, kStep, kCosine };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::kSgd;
  double learning_rate = 0.01;
  double momentum = 0.9;                              // momentum and nesterov
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // adam
  Schedule schedule = Schedule::kConstant;
  int64_t step_epochs = 10;  // step
  double gamma = 0.1;        // step
  double min_lr = 0.0;       // cosine
  // L2 regularisation: lambda/2 * sum(W^2) over every weight matrix (not biases) is added to
  // the loss, lambda * W to the weights' gradients (the survey's equation 26).
  double l2 = 0.0;
};

// Weight initialisation. Biases start at zero except with explicit weights.
enum class Init {
  kXavier,    // U(-a, a), a = sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio)
  kHe,        // N(0, 2 / fan_in)                             (He et al.)
  kLecun,     // N(0, 1 / fan_in)                             (LeCun)
  kUniform,   // U(-scale, scale); scale 0 means 1 / sqrt(fan_in) (PyTorch's Linear default)
  kExplicit,  // TrainSpec::initial_weights
};

// A layer's trained (or explicit initial) values, row-major W[out][in].
struct LayerWeights {
  std::vector<double> weights;  // units x inputs
  std::vector<double> bias;     // units
  // The learnable activation parameter's values (1 or `units`); empty: the layer's activation
  // parameters (or the catalog default) give them.
  std::vector<double> activation_param;
};

enum class DType { kFloat32, kFloat64 };

struct TrainSpec {
  int64_t inputs = 0;
  std::vector<LayerSpec> layers;  // hidden layers, then the output layer (at least one)
  Loss loss = Loss::kMeanSquaredError;
  OptimizerSpec optimizer;
  Init init = Init::kXavier;
  double init_scale = 0.0;                    // kUniform
  std::vector<LayerWeights> initial_weights;  // kExplicit: one per layer
  int64_t batch_size = 32;
  int64_t epochs = 10;
  bool shuffle = true;
  uint64_t seed = 0;  // initial weights, shuffling, the validation split, activation noise
  // A fraction of the training rows held out for validation (drawn with the seed) when no
  // separate validation set is given; 0 for none.
  double validation_fraction = 0.0;
  // Stop when the monitored loss (validation if any, else training) has not improved by more
  // than min_delta for `patience` epochs, and keep the best weights; 0 turns it off.
  int64_t patience = 0;
  double min_delta = 0.0;
  // Progress is reported after every epoch, and every `report_every_steps` steps if > 0.
  int64_t report_every_steps = 0;
  DType dtype = DType::kFloat32;
};

// What a job may use. Beyond them a job is refused (RESOURCE_EXHAUSTED) or, for the wall time,
// stopped as failed.
struct Limits {
  int64_t max_parameters = int64_t{16} << 20;
  int64_t max_data_elements = int64_t{64} << 20;  // features and targets, all sets
  int64_t max_total_steps = int64_t{10} << 20;    // epochs x steps per epoch
  int64_t max_layers = 64;
  int64_t max_reports = 100000;  // progress reports a job may make (they are kept)
  absl::Duration max_wall_time = absl::Minutes(30);
};

// The output width of each layer (after its activation), or INVALID_ARGUMENT.
absl::StatusOr<std::vector<int64_t>> LayerOutputs(const TrainSpec& spec);

// Checks a job before it is accepted. INVALID_ARGUMENT naming the field (`layers[1].units`,
// `optimizer.learning_rate`, ...) for zero or negative sizes, unknown activations or bad
// parameters, a loss that does not fit the output layer, non-finite or out-of-range
// hyperparameters, a batch larger than the training rows, explicit weights of the wrong shape,
// data that does not fit the network (see ValidateData), and a layer that is not frozen but gets
// no gradient (an activation at or after it passes none); RESOURCE_EXHAUSTED beyond `limits`.
// `validation` may be empty (then validation_fraction applies).
absl::Status Validate(const TrainSpec& spec, const Dataset& train, const Dataset& validation,
                      const Limits& limits);

// Checks that `data` fits the network: rows of `spec.inputs` finite features, and targets for
// the loss (class indices in [0, outputs) for softmax cross-entropy, values in [0, 1] for sigmoid
// cross-entropy, finite values for mean squared error; one per row or one per output).
// `field` names the data in messages ("data", "validation_data").
absl::Status ValidateData(const TrainSpec& spec, const Dataset& data, const std::string& field);

// Checks a network's values against its layers: one LayerWeights per layer, weights of
// units x inputs and biases of units finite values, and an activation_param only for a
// learnable parameter, with 1 or `units` finite values. INVALID_ARGUMENT naming
// `field[layer].weights` (`.bias`, `.activation_param`) and the value at fault.
absl::Status ValidateWeights(const TrainSpec& spec, const std::vector<LayerWeights>& weights,
                             const std::string& field);

// Number of trainable values: weights, biases and learnable activation parameters.
int64_t ParameterCount(const TrainSpec& spec);

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_SPEC_H_
