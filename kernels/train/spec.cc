#include "kernels/train/spec.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_format.h"
#include "kernels/catalog/catalog.h"
#include "kernels/util/status_macros.h"

namespace actserve::train {
namespace {

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// INVALID_ARGUMENT unless lo <= v <= hi (open ends where asked) and v is finite.
absl::Status CheckRange(const std::string& field, double v, double lo, double hi,
                        bool lo_open = false, bool hi_open = false) {
  bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (ok) return absl::OkStatus();
  std::string range =
      absl::StrFormat("%s%g, %g%s", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
  if (std::isinf(hi)) range = absl::StrFormat("%s %g", lo_open ? ">" : ">=", lo);
  return Invalid(field, absl::StrFormat("%g is out of range; expected a finite value %s%s", v,
                                        std::isinf(hi) ? "" : "in ", range));
}

absl::Status CheckFinite(const std::string& field, const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return Invalid(absl::StrFormat("%s[%d]", field, i),
                     absl::StrFormat("%g is not finite; expected finite values", values[i]));
    }
  }
  return absl::OkStatus();
}

int64_t StepsPerEpoch(int64_t rows, int64_t batch) { return (rows + batch - 1) / batch; }

// The loss's gradient reaches a layer only through the activations of that layer and those
// after it: below the last activation that passes none (binary_step), training would leave every
// value as it started (or only shrink the weights by L2), a job that silently trains to chance.
// Such layers must say so: frozen. The layers' activations are known (LayerOutputs passed).
absl::Status CheckGradientReachesTrainedLayers(const TrainSpec& spec) {
  int64_t blocked = -1;
  const ActivationInfo* blocker = nullptr;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    std::optional<ActivationId> id = FindActivation(spec.layers[l].activation.activation);
    if (id.has_value() && !Info(*id).properties.gradient_flows) {
      blocked = static_cast<int64_t>(l);
      blocker = &Info(*id);
    }
  }
  for (int64_t l = 0; l <= blocked; ++l) {
    if (spec.layers[l].frozen) continue;
    return Invalid(
        absl::StrFormat("layers[%d]", l),
        absl::StrFormat("cannot train: the activation of layers[%d] (%s) passes no gradient (its "
                        "derivative is 0 everywhere), so no gradient reaches layers[0] to "
                        "layers[%d]; freeze them (frozen) or choose an activation with a gradient",
                        blocked, blocker->name, blocked));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> LayerOutputs(const TrainSpec& spec) {
  std::vector<int64_t> outputs;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    const LayerSpec& layer = spec.layers[l];
    std::string field = absl::StrFormat("layers[%d]", l);
    if (layer.units < 1 || layer.units > (int64_t{1} << 24)) {
      return Invalid(field + ".units",
                     absl::StrFormat("%d is out of range; expected 1 to %d", layer.units, 1 << 24));
    }
    CallSpec call = layer.activation;
    call.shape = {1, layer.units};
    absl::StatusOr<ActivationCall> prepared = PrepareCall(call);
    if (!prepared.ok()) {
      return absl::Status(prepared.status().code(),
                          absl::StrCat(field, ".activation: ", prepared.status().message()));
    }
    outputs.push_back(prepared->output_shape[1]);
  }
  return outputs;
}

int64_t ParameterCount(const TrainSpec& spec) {
  absl::StatusOr<std::vector<int64_t>> outputs = LayerOutputs(spec);
  if (!outputs.ok()) return 0;
  int64_t count = 0, inputs = spec.inputs;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    count += (inputs + 1) * spec.layers[l].units;
    inputs = (*outputs)[l];
  }
  return count;
}

absl::Status ValidateData(const TrainSpec& spec, const Dataset& data, const std::string& field) {
  if (data.rows < 1) return Invalid(field, "holds no rows; expected at least one");
  if (data.features != spec.inputs) {
    return Invalid(field + ".features",
                   absl::StrFormat("rows have %d features but the network has %d inputs",
                                   data.features, spec.inputs));
  }
  if (static_cast<int64_t>(data.x.size()) != data.rows * data.features) {
    return Invalid(field + ".features", absl::StrFormat("holds %d values; expected %d rows x %d",
                                                        data.x.size(), data.rows, data.features));
  }
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<int64_t> outputs, LayerOutputs(spec));
  const int64_t out = outputs.back();
  const bool class_index = spec.loss == Loss::kSoftmaxCrossEntropy;
  if (class_index ? data.target_width != 1 : data.target_width != 1 && data.target_width != out) {
    return Invalid(field + ".targets",
                   class_index
                       ? absl::StrFormat("have %d values per row; softmax cross-entropy expects "
                                         "one class index per row",
                                         data.target_width)
                       : absl::StrFormat("have %d values per row; expected %d (one per output)",
                                         data.target_width, out));
  }
  if (!class_index && data.target_width == 1 && out != 1) {
    return Invalid(field + ".targets",
                   absl::StrFormat("have one value per row; expected %d (one per output)", out));
  }
  if (static_cast<int64_t>(data.y.size()) != data.rows * data.target_width) {
    return Invalid(field + ".targets",
                   absl::StrFormat("hold %d values; expected %d rows x %d", data.y.size(),
                                   data.rows, data.target_width));
  }
  ACTSERVE_RETURN_IF_ERROR(CheckFinite(field + ".features", data.x));
  ACTSERVE_RETURN_IF_ERROR(CheckFinite(field + ".targets", data.y));
  for (size_t i = 0; i < data.y.size(); ++i) {
    double t = data.y[i];
    if (class_index && (t != std::floor(t) || t < 0 || t >= static_cast<double>(out))) {
      return Invalid(
          absl::StrFormat("%s.targets[%d]", field, i),
          absl::StrFormat("%g is not a class index; expected an integer in [0, %d)", t, out));
    }
    if (spec.loss == Loss::kSigmoidCrossEntropy && (t < 0 || t > 1)) {
      return Invalid(absl::StrFormat("%s.targets[%d]", field, i),
                     absl::StrFormat("%g is outside [0, 1], the range of sigmoid cross-entropy "
                                     "targets",
                                     t));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWeights(const TrainSpec& spec, const std::vector<LayerWeights>& weights,
                             const std::string& field) {
  if (weights.size() != spec.layers.size()) {
    return Invalid(field, absl::StrFormat("has %d layers; expected %d (one per layer)",
                                          weights.size(), spec.layers.size()));
  }
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<int64_t> outputs, LayerOutputs(spec));
  int64_t inputs = spec.inputs;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    const LayerWeights& w = weights[l];
    const int64_t units = spec.layers[l].units;
    const std::string at = absl::StrFormat("%s[%d]", field, l);
    if (static_cast<int64_t>(w.weights.size()) != units * inputs) {
      return Invalid(at + ".weights",
                     absl::StrFormat("has %d values; expected %d x %d (units x inputs)",
                                     w.weights.size(), units, inputs));
    }
    if (static_cast<int64_t>(w.bias.size()) != units) {
      return Invalid(at + ".bias",
                     absl::StrFormat("has %d values; expected %d", w.bias.size(), units));
    }
    ACTSERVE_RETURN_IF_ERROR(CheckFinite(at + ".weights", w.weights));
    ACTSERVE_RETURN_IF_ERROR(CheckFinite(at + ".bias", w.bias));
    if (!w.activation_param.empty()) {
      CallSpec call = spec.layers[l].activation;
      call.shape = {1, units};
      absl::StatusOr<ActivationCall> prepared = PrepareCall(call);
      const int64_t n = static_cast<int64_t>(w.activation_param.size());
      if (!prepared.ok() || LearnableParam(*prepared->info) < 0) {
        return Invalid(at + ".activation_param",
                       "is set but the layer's activation has no learnable parameter");
      }
      if (n != 1 && n != units) {
        return Invalid(at + ".activation_param",
                       absl::StrFormat("has %d values; expected 1 or %d (one per unit)", n, units));
      }
      ACTSERVE_RETURN_IF_ERROR(CheckFinite(at + ".activation_param", w.activation_param));
    }
    inputs = outputs[l];
  }
  return absl::OkStatus();
}

namespace {

// The network: its inputs, layers and loss.
absl::Status ValidateNetwork(const TrainSpec& spec, const Limits& limits) {
  if (spec.inputs < 1 || spec.inputs > (int64_t{1} << 24)) {
    return Invalid("inputs",
                   absl::StrFormat("%d is out of range; expected 1 to %d", spec.inputs, 1 << 24));
  }
  if (spec.layers.empty()) {
    return Invalid("layers", "is empty; expected at least the output layer");
  }
  if (static_cast<int64_t>(spec.layers.size()) > limits.max_layers) {
    return absl::ResourceExhaustedError(absl::StrFormat("layers: %d layers exceed the limit of %d",
                                                        spec.layers.size(), limits.max_layers));
  }
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<int64_t> outputs, LayerOutputs(spec));
  if (spec.loss == Loss::kSoftmaxCrossEntropy && outputs.back() < 2) {
    return Invalid("loss", absl::StrFormat("softmax cross-entropy needs at least 2 output units; "
                                           "the output layer has %d (use sigmoid cross-entropy "
                                           "for one)",
                                           outputs.back()));
  }
  return CheckGradientReachesTrainedLayers(spec);
}

absl::Status ValidateOptimizer(const OptimizerSpec& opt) {
  const double inf = INFINITY;
  ACTSERVE_RETURN_IF_ERROR(
      CheckRange("optimizer.learning_rate", opt.learning_rate, 0, inf, /*lo_open=*/true));
  ACTSERVE_RETURN_IF_ERROR(CheckRange("optimizer.momentum", opt.momentum, 0, 1, false, true));
  ACTSERVE_RETURN_IF_ERROR(CheckRange("optimizer.beta1", opt.beta1, 0, 1, false, true));
  ACTSERVE_RETURN_IF_ERROR(CheckRange("optimizer.beta2", opt.beta2, 0, 1, false, true));
  ACTSERVE_RETURN_IF_ERROR(CheckRange("optimizer.epsilon", opt.epsilon, 0, inf, true));
  ACTSERVE_RETURN_IF_ERROR(CheckRange("optimizer.l2", opt.l2, 0, inf));
  if (opt.schedule == Schedule::kStep) {
    if (opt.step_epochs < 1) {
      return Invalid("optimizer.step_epochs",
                     absl::StrFormat("%d is out of range; expected >= 1", opt.step_epochs));
    }
    ACTSERVE_RETURN_IF_ERROR(CheckRange("optimizer.gamma", opt.gamma, 0, 1, true));
  }
  if (opt.schedule == Schedule::kCosine) {
    ACTSERVE_RETURN_IF_ERROR(
        CheckRange("optimizer.min_lr", opt.min_lr, 0, opt.learning_rate, false, true));
  }
  return absl::OkStatus();
}

// Initialisation, batches, epochs, validation, early stopping and reporting.
absl::Status ValidateSchedule(const TrainSpec& spec, const Dataset& validation) {
  const double inf = INFINITY;
  ACTSERVE_RETURN_IF_ERROR(CheckRange("init.scale", spec.init_scale, 0, inf));
  if (spec.init == Init::kExplicit) {
    ACTSERVE_RETURN_IF_ERROR(ValidateWeights(spec, spec.initial_weights, "init.weights"));
  } else if (!spec.initial_weights.empty()) {
    return Invalid("init.weights", "are given but init.kind is not KIND_EXPLICIT");
  }
  if (spec.batch_size < 1) {
    return Invalid("batch_size",
                   absl::StrFormat("%d is out of range; expected >= 1", spec.batch_size));
  }
  if (spec.epochs < 1) {
    return Invalid("epochs", absl::StrFormat("%d is out of range; expected >= 1", spec.epochs));
  }
  ACTSERVE_RETURN_IF_ERROR(
      CheckRange("validation_fraction", spec.validation_fraction, 0, 1, false, true));
  if (spec.validation_fraction > 0 && !validation.empty()) {
    return Invalid("validation_fraction",
                   "is set together with a validation set; expected one or the other");
  }
  if (spec.patience < 0) {
    return Invalid("patience", absl::StrFormat("%d is out of range; expected >= 0", spec.patience));
  }
  ACTSERVE_RETURN_IF_ERROR(CheckRange("min_delta", spec.min_delta, 0, inf));
  if (spec.report_every_steps < 0) {
    return Invalid("report_every_steps",
                   absl::StrFormat("%d is out of range; expected >= 0", spec.report_every_steps));
  }

  return absl::OkStatus();
}

// The data, and what the job would cost: parameters, values, steps and reports.
absl::Status ValidateCost(const TrainSpec& spec, const Dataset& train, const Dataset& validation,
                          const Limits& limits) {
  ACTSERVE_RETURN_IF_ERROR(ValidateData(spec, train, "data"));
  if (!validation.empty())
    ACTSERVE_RETURN_IF_ERROR(ValidateData(spec, validation, "validation_data"));

  const int64_t params = ParameterCount(spec);
  if (params > limits.max_parameters) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "layers: the network has %d parameters; the limit is %d", params, limits.max_parameters));
  }
  const int64_t elements = static_cast<int64_t>(train.x.size() + train.y.size() +
                                                validation.x.size() + validation.y.size());
  if (elements > limits.max_data_elements) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("data: %d values (features and targets) exceed the limit of %d", elements,
                        limits.max_data_elements));
  }
  int64_t held = 0;
  if (spec.validation_fraction > 0) {
    held = std::clamp<int64_t>(std::llround(spec.validation_fraction * train.rows), 1, train.rows);
  }
  const int64_t train_rows = train.rows - held;
  if (spec.batch_size > train_rows) {
    return Invalid("batch_size",
                   absl::StrFormat("%d is larger than the %d training rows%s", spec.batch_size,
                                   train_rows, held > 0 ? " left after the validation split" : ""));
  }
  const int64_t steps = StepsPerEpoch(train_rows, spec.batch_size);
  if (spec.epochs > limits.max_total_steps / steps) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("epochs: %d epochs x %d steps exceed the limit of %d steps per job",
                        spec.epochs, steps, limits.max_total_steps));
  }
  const int64_t reports =
      spec.epochs +
      (spec.report_every_steps > 0 ? spec.epochs * steps / spec.report_every_steps : 0);
  if (reports > limits.max_reports) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "report_every_steps: the job would make %d progress reports; the limit is %d", reports,
        limits.max_reports));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const TrainSpec& spec, const Dataset& train, const Dataset& validation,
                      const Limits& limits) {
  ACTSERVE_RETURN_IF_ERROR(ValidateNetwork(spec, limits));
  ACTSERVE_RETURN_IF_ERROR(ValidateOptimizer(spec.optimizer));
  ACTSERVE_RETURN_IF_ERROR(ValidateSchedule(spec, validation));
  return ValidateCost(spec, train, validation, limits);
}

}  // namespace actserve::train
