#include "server/api/convert_training.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "kernels/util/status_macros.h"
#include "kernels/util/untrusted.h"
#include "server/api/convert.h"
#include "server/api/enum_tables.h"
#include "server/api/status.h"

namespace actserve::server {
namespace {

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// A tensor's values as doubles, checked by CheckTensor; `shape` receives its shape.
absl::StatusOr<std::vector<double>> ReadTensor(const v1::Tensor& tensor, const std::string& field,
                                               int64_t max_elements, std::vector<int64_t>* shape) {
  ACTSERVE_RETURN_IF_ERROR(CheckTensor(tensor, field.c_str(), max_elements).status());
  shape->assign(tensor.shape().begin(), tensor.shape().end());
  if (tensor.dtype() == v1::DTYPE_FLOAT32) {
    return std::vector<double>(tensor.float_data().begin(), tensor.float_data().end());
  }
  return std::vector<double>(tensor.double_data().begin(), tensor.double_data().end());
}

absl::Status ExpectShape(const std::string& field, const std::vector<int64_t>& shape,
                         const std::vector<int64_t>& expected, const char* meaning) {
  if (shape == expected) return absl::OkStatus();
  return Invalid(field + ".shape", absl::StrFormat("is %s; expected %s (%s)", ShapeToString(shape),
                                                   ShapeToString(expected), meaning));
}

std::vector<std::pair<std::string, std::vector<double>>> Params(
    const google::protobuf::RepeatedPtrField<v1::Parameter>& params) {
  std::vector<std::pair<std::string, std::vector<double>>> out;
  for (const v1::Parameter& p : params) {
    out.emplace_back(p.name(), std::vector<double>(p.values().begin(), p.values().end()));
  }
  return out;
}

train::LayerSpec ToLayer(const v1::Layer& layer) {
  train::LayerSpec out;
  out.units = layer.units();
  out.activation.activation = layer.activation();
  out.activation.params = Params(layer.params());
  out.freeze_params = layer.freeze_params();
  out.frozen = layer.frozen();
  return out;
}

absl::StatusOr<train::OptimizerSpec> ToOptimizer(const v1::Optimizer& opt) {
  train::OptimizerSpec out;
  ACTSERVE_ASSIGN_OR_RETURN(out.kind, OptimizerKindTable().ToCore(opt.kind(), "optimizer.kind"));
  ACTSERVE_ASSIGN_OR_RETURN(out.schedule,
                            ScheduleTable().ToCore(opt.schedule(), "optimizer.schedule"));
  out.learning_rate = opt.learning_rate();
  if (opt.has_momentum()) out.momentum = opt.momentum();
  if (opt.has_beta1()) out.beta1 = opt.beta1();
  if (opt.has_beta2()) out.beta2 = opt.beta2();
  if (opt.has_epsilon()) out.epsilon = opt.epsilon();
  if (opt.has_step_epochs()) out.step_epochs = opt.step_epochs();
  if (opt.has_gamma()) out.gamma = opt.gamma();
  out.min_lr = opt.min_lr();
  out.l2 = opt.l2();
  return out;
}

// Weights of layer `l` from its message: W [units, inputs], b [units].
absl::StatusOr<train::LayerWeights> ToWeights(const v1::LayerWeights& w, const std::string& field,
                                              int64_t units, int64_t inputs, int64_t max_elements) {
  train::LayerWeights out;
  std::vector<int64_t> shape;
  ACTSERVE_ASSIGN_OR_RETURN(out.weights,
                            ReadTensor(w.weights(), field + ".weights", max_elements, &shape));
  ACTSERVE_RETURN_IF_ERROR(
      ExpectShape(field + ".weights", shape, {units, inputs}, "units x inputs"));
  ACTSERVE_ASSIGN_OR_RETURN(out.bias, ReadTensor(w.bias(), field + ".bias", max_elements, &shape));
  ACTSERVE_RETURN_IF_ERROR(ExpectShape(field + ".bias", shape, {units}, "units"));
  out.activation_param.assign(w.activation_param().values().begin(),
                              w.activation_param().values().end());
  return out;
}

// Every layer's weights, checked against the layers' shapes.
absl::StatusOr<std::vector<train::LayerWeights>> ToWeightsList(
    const train::TrainSpec& spec, const google::protobuf::RepeatedPtrField<v1::LayerWeights>& in,
    const std::string& field, int64_t max_elements) {
  if (in.size() != static_cast<int>(spec.layers.size())) {
    return Invalid(field, absl::StrFormat("has %d layers; expected %d (one per layer)", in.size(),
                                          spec.layers.size()));
  }
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<int64_t> outputs, train::LayerOutputs(spec));
  std::vector<train::LayerWeights> out;
  int64_t inputs = spec.inputs;
  for (int i = 0; i < in.size(); ++i) {
    ACTSERVE_ASSIGN_OR_RETURN(train::LayerWeights w,
                              ToWeights(in[i], absl::StrFormat("%s[%d]", field, i),
                                        spec.layers[i].units, inputs, max_elements));
    out.push_back(std::move(w));
    inputs = outputs[i];
  }
  return out;
}

// Inline or generated data. `required`: whether an unset source is an error.
absl::StatusOr<train::Dataset> ToDataset(const v1::Data& data, const std::string& field,
                                         const TrainingLimits& limits, bool required) {
  train::Dataset out;
  switch (data.source_case()) {
    case v1::Data::kInline: {
      const v1::InlineData& in = data.inline_();
      std::vector<int64_t> fs, ts;
      ACTSERVE_ASSIGN_OR_RETURN(out.x, ReadTensor(in.features(), field + ".inline.features",
                                                  limits.max_tensor_elements, &fs));
      if (fs.size() != 2) {
        return Invalid(field + ".inline.features.shape",
                       absl::StrFormat("is %s; expected [rows, inputs]", ShapeToString(fs)));
      }
      ACTSERVE_ASSIGN_OR_RETURN(out.y, ReadTensor(in.targets(), field + ".inline.targets",
                                                  limits.max_tensor_elements, &ts));
      if (ts.empty() || ts.size() > 2 || ts[0] != fs[0]) {
        return Invalid(field + ".inline.targets.shape",
                       absl::StrFormat("is %s; expected [%d] or [%d, outputs] (one row per "
                                       "feature row)",
                                       ShapeToString(ts), fs[0], fs[0]));
      }
      out.rows = fs[0];
      out.features = fs[1];
      out.target_width = ts.size() == 2 ? ts[1] : 1;
      return out;
    }
    case v1::Data::kGenerated: {
      const v1::GeneratedData& g = data.generated();
      train::GeneratorSpec spec{.name = g.name(), .rows = g.rows(), .seed = g.seed()};
      if (g.has_noise()) spec.noise = g.noise();
      if (g.has_classes()) spec.classes = g.classes();
      // The generator's limit is the data limit (two features and a target per row).
      absl::StatusOr<train::Dataset> d = train::Generate(spec, limits.core.max_data_elements / 3);
      if (!d.ok()) {
        return absl::Status(d.status().code(),
                            absl::StrCat(field, ".generated.",
                                         d.status().message().substr(sizeof("dataset.") - 1)));
      }
      return d;
    }
    default:
      if (required) {
        return Invalid(field, "has no source; expected inline or generated data");
      }
      return out;
  }
}

}  // namespace

// The network of a spec: its inputs, layers and loss (the dtype is read before).
absl::Status ToNetwork(const v1::JobSpec& proto, int64_t inputs, train::TrainSpec* spec) {
  spec->inputs = inputs;
  for (const v1::Layer& layer : proto.layers()) spec->layers.push_back(ToLayer(layer));
  ACTSERVE_ASSIGN_OR_RETURN(spec->loss, LossTable().ToCore(proto.loss(), "loss"));
  return absl::OkStatus();
}

absl::StatusOr<JobInput> ToJobInput(const v1::JobSpec& proto, const TrainingLimits& limits,
                                    const Backends& backends) {
  JobInput in;
  train::TrainSpec& spec = in.spec;
  ACTSERVE_RETURN_IF_ERROR(CheckLength("name", proto.name(), kMaxJobNameBytes));
  ACTSERVE_RETURN_IF_ERROR(SelectBackend(backends, proto.backend(), 0).status());
  in.cuda = BackendTable().ToCore(proto.backend(), "backend").value() == BackendChoice::kCuda;
  ACTSERVE_ASSIGN_OR_RETURN(spec.dtype, DTypeTable().ToCore(proto.dtype(), "dtype"));
  ACTSERVE_ASSIGN_OR_RETURN(in.train, ToDataset(proto.data(), "data", limits, true));
  ACTSERVE_ASSIGN_OR_RETURN(in.validation,
                            ToDataset(proto.validation_data(), "validation_data", limits, false));
  ACTSERVE_RETURN_IF_ERROR(
      ToNetwork(proto, proto.inputs() != 0 ? proto.inputs() : in.train.features, &spec));
  ACTSERVE_ASSIGN_OR_RETURN(spec.optimizer, ToOptimizer(proto.optimizer()));
  const v1::Initialization& init = proto.init();
  ACTSERVE_ASSIGN_OR_RETURN(spec.init, InitKindTable().ToCore(init.kind(), "init.kind"));
  spec.init_scale = init.scale();
  if (spec.init == train::Init::kExplicit) {
    // Shapes need valid layers first: the core's checks of those come before ours.
    ACTSERVE_RETURN_IF_ERROR(train::LayerOutputs(spec).status());
    if (spec.inputs < 1) return Invalid("inputs", "must be >= 1");
    ACTSERVE_ASSIGN_OR_RETURN(
        spec.initial_weights,
        ToWeightsList(spec, init.weights(), "init.weights", limits.max_tensor_elements));
  } else if (init.weights_size() > 0) {
    return Invalid("init.weights", "are given but init.kind is not KIND_EXPLICIT");
  }
  if (proto.has_batch_size()) spec.batch_size = proto.batch_size();
  if (proto.has_epochs()) spec.epochs = proto.epochs();
  if (proto.has_shuffle()) spec.shuffle = proto.shuffle();
  spec.seed = proto.seed();
  spec.validation_fraction = proto.validation_fraction();
  spec.patience = proto.patience();
  spec.min_delta = proto.min_delta();
  spec.report_every_steps = proto.report_every_steps();

  const double seconds = proto.max_seconds();
  const double limit = absl::ToDoubleSeconds(limits.core.max_wall_time);
  if (!std::isfinite(seconds) || seconds < 0) {
    return Invalid("max_seconds", absl::StrFormat("%g is not allowed; expected a finite value >= 0 "
                                                  "(0: the server's limit)",
                                                  seconds));
  }
  if (seconds > limit) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "max_seconds: %g s exceeds the server's limit of %g s per job", seconds, limit));
  }
  in.max_wall_time = seconds > 0 ? absl::Seconds(seconds) : limits.core.max_wall_time;
  ACTSERVE_RETURN_IF_ERROR(train::Validate(spec, in.train, in.validation, limits.core));
  return in;
}

absl::StatusOr<PredictInput> ToPredictInput(const v1::PredictRequest& request,
                                            const TrainedNetwork* job,
                                            const TrainingLimits& limits) {
  PredictInput in;
  std::vector<int64_t> shape;
  ACTSERVE_ASSIGN_OR_RETURN(
      in.x.x, ReadTensor(request.features(), "features", limits.max_tensor_elements, &shape));
  if (shape.size() != 2) {
    return Invalid("features.shape",
                   absl::StrFormat("is %s; expected [rows, inputs]", ShapeToString(shape)));
  }
  in.x.rows = shape[0];
  in.x.features = shape[1];
  if (job != nullptr) {
    in.spec = job->spec;
    in.weights = job->weights;
  } else {
    const v1::Network& net = request.network();
    in.spec.inputs = net.inputs();
    if (in.spec.inputs < 1) {
      return Invalid("network.inputs",
                     absl::StrFormat("%d is out of range; expected >= 1", in.spec.inputs));
    }
    if (net.layers().empty()) {
      return Invalid("network.layers", "is empty; expected at least the output layer");
    }
    for (const v1::Layer& layer : net.layers()) in.spec.layers.push_back(ToLayer(layer));
    absl::Status layers = train::LayerOutputs(in.spec).status();
    if (!layers.ok())
      return absl::Status(layers.code(), absl::StrCat("network.", layers.message()));
    in.spec.loss = train::Loss::kMeanSquaredError;
    if (net.loss() != v1::LOSS_UNSPECIFIED) {
      ACTSERVE_ASSIGN_OR_RETURN(in.spec.loss, LossTable().ToCore(net.loss(), "network.loss"));
    }
    ACTSERVE_ASSIGN_OR_RETURN(in.weights, ToWeightsList(in.spec, net.weights(), "network.weights",
                                                        limits.max_tensor_elements));
    ACTSERVE_RETURN_IF_ERROR(train::ValidateWeights(in.spec, in.weights, "network.weights"));
  }
  in.spec.dtype = request.features().dtype() == v1::DTYPE_FLOAT64 ? train::DType::kFloat64
                                                                  : train::DType::kFloat32;
  if (in.x.features != in.spec.inputs) {
    return Invalid("features.shape", absl::StrFormat("is %s; the network has %d inputs",
                                                     ShapeToString(shape), in.spec.inputs));
  }
  for (size_t i = 0; i < in.x.x.size(); ++i) {
    if (!std::isfinite(in.x.x[i])) {
      return Invalid(absl::StrFormat("features[%d]", i), "is not finite; expected finite values");
    }
  }
  return in;
}

void FillPredictResponse(const PredictInput& input, const Prediction& prediction,
                         v1::PredictResponse* response) {
  v1::Tensor* t = response->mutable_outputs();
  t->add_shape(prediction.rows);
  t->add_shape(prediction.width);
  if (input.spec.dtype == train::DType::kFloat64) {
    t->set_dtype(v1::DTYPE_FLOAT64);
    t->mutable_double_data()->Add(prediction.outputs.begin(), prediction.outputs.end());
  } else {
    t->set_dtype(v1::DTYPE_FLOAT32);
    for (double v : prediction.outputs) t->add_float_data(static_cast<float>(v));
  }
  response->mutable_classes()->Add(prediction.classes.begin(), prediction.classes.end());
}

void ToProto(const train::Progress& p, v1::Progress* out) {
  out->set_epoch(p.epoch);
  out->set_step(p.step);
  out->set_epoch_end(p.epoch_end);
  out->set_learning_rate(p.learning_rate);
  out->set_train_loss(p.train_loss);
  if (p.has_accuracy) out->set_train_accuracy(p.train_accuracy);
  if (p.has_validation) {
    out->set_validation_loss(p.validation_loss);
    if (p.has_accuracy) out->set_validation_accuracy(p.validation_accuracy);
  }
  for (const train::LayerDiagnostics& d : p.layers) {
    v1::LayerDiagnostics* l = out->add_layers();
    if (d.has_derivative_stats) {
      l->set_dead_fraction(d.dead_fraction);
      l->set_saturated_fraction(d.saturated_fraction);
    }
    l->set_activation_mean(d.activation_mean);
    l->set_activation_std(d.activation_std);
    l->set_weight_norm(d.weight_norm);
    l->set_gradient_norm(d.gradient_norm);
  }
  out->set_elapsed_seconds(p.elapsed_seconds);
}

void ToProto(const train::TrainResult& r, v1::Result* out) {
  out->set_epochs(r.epochs);
  out->set_steps(r.steps);
  out->set_train_loss(r.train_loss);
  if (r.has_accuracy) out->set_train_accuracy(r.train_accuracy);
  if (r.has_validation) {
    out->set_validation_loss(r.validation_loss);
    if (r.has_accuracy) out->set_validation_accuracy(r.validation_accuracy);
  }
  out->set_stop_reason(r.outcome == train::Outcome::kEarlyStopped ? "early_stopped"
                       : r.outcome == train::Outcome::kCancelled  ? "cancelled"
                                                                  : "completed");
}

void ToProto(const train::TrainSpec& spec, const std::vector<train::LayerWeights>& weights,
             google::protobuf::RepeatedPtrField<v1::LayerWeights>* out) {
  const bool fp64 = spec.dtype == train::DType::kFloat64;
  auto fill = [fp64](const std::vector<double>& values, std::vector<int64_t> shape, v1::Tensor* t) {
    t->mutable_shape()->Assign(shape.begin(), shape.end());
    t->set_dtype(fp64 ? v1::DTYPE_FLOAT64 : v1::DTYPE_FLOAT32);
    if (fp64) {
      t->mutable_double_data()->Add(values.begin(), values.end());
    } else {
      for (double v : values) t->add_float_data(static_cast<float>(v));
    }
  };
  absl::StatusOr<std::vector<int64_t>> outputs = train::LayerOutputs(spec);
  int64_t inputs = spec.inputs;
  for (size_t l = 0; l < weights.size() && l < spec.layers.size(); ++l) {
    const int64_t units = spec.layers[l].units;
    v1::LayerWeights* w = out->Add();
    fill(weights[l].weights, {units, inputs}, w->mutable_weights());
    fill(weights[l].bias, {units}, w->mutable_bias());
    if (!weights[l].activation_param.empty()) {
      CallSpec call = spec.layers[l].activation;
      call.shape = {1, units};
      absl::StatusOr<ActivationCall> prepared = PrepareCall(call);
      if (prepared.ok()) {
        w->mutable_activation_param()->set_name(
            prepared->info->params[LearnableParam(*prepared->info)].name);
      }
      w->mutable_activation_param()->mutable_values()->Add(weights[l].activation_param.begin(),
                                                           weights[l].activation_param.end());
    }
    inputs = outputs.ok() ? (*outputs)[l] : units;  // maxout and glu narrow the next inputs
  }
}

v1::JobSpec WithoutInlineData(const v1::JobSpec& spec) {
  v1::JobSpec out = spec;
  if (out.data().has_inline_()) out.mutable_data()->clear_inline_();
  if (out.validation_data().has_inline_()) out.mutable_validation_data()->clear_inline_();
  out.mutable_init()->clear_weights();
  return out;
}

absl::StatusOr<JobRequest> ToJobRequest(const v1::JobSpec& spec, const TrainingLimits& limits,
                                        const Backends& backends) {
  JobRequest request{.name = spec.name(),
                     .description = WithoutInlineData(spec).SerializeAsString(),
                     .recipe = spec.SerializeAsString()};
  ACTSERVE_ASSIGN_OR_RETURN(request.input, ToJobInput(spec, limits, backends));
  return request;
}

absl::StatusOr<std::vector<JobRequest>> ToSweepRequests(const v1::SubmitSweepRequest& request,
                                                        const TrainingLimits& limits,
                                                        const Backends& backends) {
  const int count = request.activations_size();
  if (count < 1 || count > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("activations: %d given; expected 1 to 64", count));
  }
  if (request.spec().layers_size() < 2) {
    return absl::InvalidArgumentError(
        "spec.layers: a sweep needs at least one hidden layer whose activation it varies");
  }
  ACTSERVE_RETURN_IF_ERROR(CheckLength("spec.name", request.spec().name(), kMaxJobNameBytes));
  std::vector<JobRequest> jobs;
  for (int i = 0; i < count; ++i) {
    const v1::SweepActivation& a = request.activations(i);
    ACTSERVE_RETURN_IF_ERROR(CheckLength(absl::StrFormat("activations[%d].activation", i),
                                         a.activation(), kMaxActivationNameBytes));
    v1::JobSpec spec = request.spec();
    spec.set_name(absl::StrCat(spec.name().empty() ? "sweep" : spec.name(), "/", a.activation()));
    for (int l = 0; l + 1 < spec.layers_size(); ++l) {
      spec.mutable_layers(l)->set_activation(a.activation());
      *spec.mutable_layers(l)->mutable_params() = a.params();
    }
    absl::StatusOr<JobRequest> job = ToJobRequest(spec, limits, backends);
    if (!job.ok()) {
      return absl::Status(job.status().code(),
                          absl::StrFormat("activations[%d] (%s): %s; the sweep was not created", i,
                                          QuoteUntrusted(a.activation()), job.status().message()));
    }
    jobs.push_back(*std::move(job));
  }
  return jobs;
}

absl::StatusOr<JobInput> RebuildJobInput(const std::string& recipe, const TrainingLimits& limits,
                                         const Backends& backends) {
  v1::JobSpec spec;
  if (!spec.ParseFromString(recipe)) {
    return absl::DataLossError("the stored job description does not parse");
  }
  return ToJobInput(spec, limits, backends);
}

absl::StatusOr<train::TrainSpec> RebuildNetwork(const std::string& description, int64_t inputs) {
  v1::JobSpec proto;
  if (!proto.ParseFromString(description)) {
    return absl::DataLossError("the stored job description does not parse");
  }
  train::TrainSpec spec;
  ACTSERVE_ASSIGN_OR_RETURN(spec.dtype, DTypeTable().ToCore(proto.dtype(), "dtype"));
  ACTSERVE_RETURN_IF_ERROR(ToNetwork(proto, inputs, &spec));
  return spec;
}

int64_t GenerationBytes(const v1::JobSpec& spec) {
  int64_t bytes = 0;
  for (const v1::Data* data : {&spec.data(), &spec.validation_data()}) {
    if (!data->has_generated()) continue;
    const int64_t rows = std::clamp<int64_t>(data->generated().rows(), 0, int64_t{1} << 40);
    bytes += rows * 3 * int64_t{sizeof(double)} * 2;  // at most 2 features and 1 target a row
  }
  return bytes;
}

std::string SweepDescription(const v1::SubmitSweepRequest& request) {
  v1::Sweep echo;
  *echo.mutable_activations() = request.activations();
  return echo.SerializeAsString();
}

namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

void ToProto(const JobView& job, v1::Job* out) {
  out->set_id(job.id);
  out->set_name(job.name);
  // The description is ToJobRequest's serialized JobSpec.
  out->mutable_spec()->ParseFromString(job.description);
  out->set_sweep_id(job.sweep_id);
  SetTime(job.create_time, out->mutable_create_time());
  out->set_state(JobStateTable().ToWire(job.state));
  if (job.start_time != absl::InfinitePast()) SetTime(job.start_time, out->mutable_start_time());
  if (job.end_time != absl::InfinitePast()) SetTime(job.end_time, out->mutable_end_time());
  if (job.last_progress.has_value()) ToProto(*job.last_progress, out->mutable_last_progress());
  out->set_reports(job.reports);
  if (job.result.has_value()) ToProto(*job.result, out->mutable_result());
  if (!job.error.ok()) ToWireError(job.error, out->mutable_error());
  if (!job.weights.empty()) ToProto(job.spec, job.weights, out->mutable_weights());
  out->set_memory_bytes(job.memory_bytes);
  out->set_resumed(job.resumed);
}

void ToProto(const SweepView& sweep, v1::Sweep* out) {
  // The description is SweepDescription's: the activations.
  out->ParseFromString(sweep.description);
  out->set_id(sweep.id);
  for (const JobView& job : sweep.jobs) ToProto(job, out->add_jobs());
}

}  // namespace actserve::server
