#include "server/api/convert.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/util/status_macros.h"
#include "server/api/enum_tables.h"

namespace actserve::server {
namespace {

template <class Repeated>
absl::Status CheckData(const Repeated& data, const char* field, const char* data_name,
                       int64_t expected, const v1::Tensor& tensor) {
  if (static_cast<int64_t>(data.size()) != expected) {
    std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
    return absl::InvalidArgumentError(
        absl::StrFormat("%s.%s has %d elements but %s.shape %s needs %d", field, data_name,
                        data.size(), field, ShapeToString(shape), expected));
  }
  return absl::OkStatus();
}

absl::StatusOr<CallSpec> SpecFor(const std::string& activation, const v1::Tensor& x,
                                 const google::protobuf::RepeatedPtrField<v1::Parameter>& params,
                                 uint64_t seed, bool training) {
  CallSpec spec;
  spec.activation = activation;
  spec.shape.assign(x.shape().begin(), x.shape().end());
  for (const v1::Parameter& p : params) {
    spec.params.emplace_back(p.name(), std::vector<double>(p.values().begin(), p.values().end()));
  }
  spec.seed = seed;
  spec.training = training;
  return spec;
}

template <class T>
absl::Span<const T> DataOf(const v1::Tensor& t) {
  if constexpr (std::is_same_v<T, float>) {
    return absl::MakeConstSpan(t.float_data().data(), t.float_data().size());
  } else {
    return absl::MakeConstSpan(t.double_data().data(), t.double_data().size());
  }
}

// `size` more elements at the end of `field`, uninitialised (the caller writes every one): no
// zero-filling pass over a buffer that the kernel overwrites.
template <class T>
absl::Span<T> AppendUninitialized(google::protobuf::RepeatedField<T>* field, int64_t size) {
  field->Reserve(field->size() + static_cast<int>(size));
  return absl::MakeSpan(field->AddNAlreadyReserved(static_cast<int>(size)), size);
}

// Sets `out` to the given shape and dtype with `size` elements of T, and returns them for the
// kernel to write.
template <class T>
absl::Span<T> Allocate(const std::vector<int64_t>& shape, int64_t size, v1::Tensor* out) {
  out->mutable_shape()->Assign(shape.begin(), shape.end());
  if constexpr (std::is_same_v<T, float>) {
    out->set_dtype(v1::DTYPE_FLOAT32);
    return AppendUninitialized(out->mutable_float_data(), size);
  } else {
    out->set_dtype(v1::DTYPE_FLOAT64);
    return AppendUninitialized(out->mutable_double_data(), size);
  }
}

// Requests smaller than this parse in one or two slices; reserving would only cost.
constexpr int64_t kReserveBytes = 64 << 10;

template <class T>
absl::Status Forward(Backend& backend, const ActivationCall& call, const v1::ForwardRequest& req,
                     v1::ForwardResponse* resp) {
  absl::Span<T> y = Allocate<T>(call.output_shape, call.output_size, resp->mutable_y());
  return backend.Forward(call, DataOf<T>(req.x()), y);
}

template <class T>
absl::Status Backward(Backend& backend, const ActivationCall& call, const v1::BackwardRequest& req,
                      v1::BackwardResponse* resp) {
  absl::Span<T> dx = Allocate<T>(call.input_shape, call.input_size, resp->mutable_dx());
  ParamGradients grads;
  ACTSERVE_RETURN_IF_ERROR(
      backend.Backward(call, DataOf<T>(req.x()), DataOf<T>(req.dy()), dx, &grads));
  for (int k = 0; k < kMaxParams; ++k) {
    if (grads.values[k].empty()) continue;
    v1::Parameter* p = resp->add_param_gradients();
    p->set_name(call.info->params[k].name);
    p->mutable_values()->Assign(grads.values[k].begin(), grads.values[k].end());
  }
  return absl::OkStatus();
}

}  // namespace

void ReserveForParse(int64_t bytes, v1::ForwardRequest* request) {
  if (bytes < kReserveBytes) return;
  request->mutable_x()->mutable_float_data()->Reserve(static_cast<int>(bytes / sizeof(float)));
}

void ReserveForParse(int64_t bytes, v1::BackwardRequest* request) {
  if (bytes < kReserveBytes) return;
  // x and dy have the same size: each holds at most half the bytes.
  const int floats = static_cast<int>(bytes / 2 / sizeof(float));
  request->mutable_x()->mutable_float_data()->Reserve(floats);
  request->mutable_dy()->mutable_float_data()->Reserve(floats);
}

absl::StatusOr<Backend*> SelectBackend(const Backends& backends, v1::Backend requested,
                                       int64_t elements, const char* field) {
  ACTSERVE_ASSIGN_OR_RETURN(BackendChoice choice, BackendTable().ToCore(requested, field));
  if (choice == BackendChoice::kCuda && backends.cuda == nullptr) {
    return absl::UnavailableError(
        absl::StrCat(field, ": BACKEND_CUDA is not available on this server (",
                     backends.cuda_unavailable, "); use BACKEND_CPU or BACKEND_UNSPECIFIED"));
  }
  return backends.Choose(choice, elements);
}

absl::StatusOr<int64_t> CheckTensor(const v1::Tensor& tensor, const char* field,
                                    int64_t max_elements) {
  // Shape first: its own errors (negative or overflowing dims) come from the catalog's checks,
  // so here only the count is needed, computed without overflow.
  int64_t size = 1;
  bool overflow = false;
  for (int64_t d : tensor.shape()) {
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s.shape has a negative dimension %d; dimensions must be >= 0", field, d));
    }
    if (d != 0 && size > INT64_MAX / d) overflow = true;
    if (!overflow) size *= d;
  }
  for (int64_t d : tensor.shape()) {
    if (d == 0) size = 0, overflow = false;
  }
  if (overflow || size > max_elements) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s has more than %d elements (the server's --max_elements)", field, max_elements));
  }
  if (tensor.dtype() == v1::DTYPE_UNSPECIFIED || !DTypeTable().ToCore(tensor.dtype(), "").ok()) {
    // A tensor has no default dtype.
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s.dtype must be %s, got %s", field, DTypeTable().Expected(),
        v1::DType_IsValid(tensor.dtype()) ? v1::DType_Name(tensor.dtype())
                                          : absl::StrCat(static_cast<int>(tensor.dtype()))));
  }
  if (tensor.dtype() == v1::DTYPE_FLOAT32) {
    ACTSERVE_RETURN_IF_ERROR(CheckData(tensor.float_data(), field, "float_data", size, tensor));
    if (!tensor.double_data().empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s.double_data must be empty when %s.dtype is DTYPE_FLOAT32", field, field));
    }
  } else {
    ACTSERVE_RETURN_IF_ERROR(CheckData(tensor.double_data(), field, "double_data", size, tensor));
    if (!tensor.float_data().empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s.float_data must be empty when %s.dtype is DTYPE_FLOAT64", field, field));
    }
  }
  return size;
}

absl::StatusOr<ActivationCall> PrepareForward(const v1::ForwardRequest& request,
                                              int64_t max_elements) {
  ACTSERVE_RETURN_IF_ERROR(CheckTensor(request.x(), "x", max_elements).status());
  ACTSERVE_ASSIGN_OR_RETURN(
      CallSpec spec, SpecFor(request.activation(), request.x(), request.params(), request.seed(),
                             request.training()));
  return PrepareCall(spec);
}

absl::StatusOr<ActivationCall> PrepareBackward(const v1::BackwardRequest& request,
                                               int64_t max_elements) {
  ACTSERVE_RETURN_IF_ERROR(CheckTensor(request.x(), "x", max_elements).status());
  ACTSERVE_RETURN_IF_ERROR(CheckTensor(request.dy(), "dy", max_elements).status());
  if (request.dy().dtype() != request.x().dtype()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("dy.dtype is %s but x.dtype is %s; they must match",
                        v1::DType_Name(request.dy().dtype()), v1::DType_Name(request.x().dtype())));
  }
  ACTSERVE_ASSIGN_OR_RETURN(
      CallSpec spec, SpecFor(request.activation(), request.x(), request.params(), request.seed(),
                             request.training()));
  spec.from_output = request.from_output();
  ACTSERVE_ASSIGN_OR_RETURN(ActivationCall call, PrepareCall(spec));
  std::vector<int64_t> dy_shape(request.dy().shape().begin(), request.dy().shape().end());
  if (dy_shape != call.output_shape) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "dy.shape is %s but %s of x.shape %s gives %s; dy must have the output's shape",
        ShapeToString(dy_shape), call.info->name, ShapeToString(call.input_shape),
        ShapeToString(call.output_shape)));
  }
  return call;
}

absl::Status RunForward(Backend& backend, const ActivationCall& call,
                        const v1::ForwardRequest& request, v1::ForwardResponse* response) {
  return request.x().dtype() == v1::DTYPE_FLOAT32
             ? Forward<float>(backend, call, request, response)
             : Forward<double>(backend, call, request, response);
}

absl::Status RunBackward(Backend& backend, const ActivationCall& call,
                         const v1::BackwardRequest& request, v1::BackwardResponse* response) {
  return request.x().dtype() == v1::DTYPE_FLOAT32
             ? Backward<float>(backend, call, request, response)
             : Backward<double>(backend, call, request, response);
}

absl::StatusOr<Computation> ToComputation(const v1::ForwardRequest& request,
                                          const Backends& backends, int64_t max_elements) {
  Computation c{.fp64 = request.x().dtype() == v1::DTYPE_FLOAT64};
  ACTSERVE_ASSIGN_OR_RETURN(c.call, PrepareForward(request, max_elements));
  ACTSERVE_ASSIGN_OR_RETURN(c.backend,
                            SelectBackend(backends, request.backend(), c.call.input_size));
  return c;
}

absl::StatusOr<Computation> ToComputation(const v1::BackwardRequest& request,
                                          const Backends& backends, int64_t max_elements) {
  Computation c{.backward = true, .fp64 = request.x().dtype() == v1::DTYPE_FLOAT64};
  ACTSERVE_ASSIGN_OR_RETURN(c.call, PrepareBackward(request, max_elements));
  ACTSERVE_ASSIGN_OR_RETURN(c.backend,
                            SelectBackend(backends, request.backend(), c.call.input_size));
  return c;
}

absl::Status Run(const Computation& c, const v1::ForwardRequest& request,
                 v1::ForwardResponse* response) {
  return RunForward(*c.backend, c.call, request, response);
}

absl::Status Run(const Computation& c, const v1::BackwardRequest& request,
                 v1::BackwardResponse* response) {
  return RunBackward(*c.backend, c.call, request, response);
}

void SetEvaluateError(const absl::Status& status, const v1::EvaluateRequest* request,
                      v1::EvaluateResponse* response) {
  response->Clear();
  response->set_id(request != nullptr ? request->id() : 0);
  ToWireError(status, response->mutable_error());
}

void FillActivationList(v1::ListActivationsResponse* response) {
  for (const ActivationInfo& info : AllActivations()) {
    v1::ActivationInfo* out = response->add_activations();
    out->set_name(info.name);
    for (const char* alias : info.aliases) {
      if (alias != nullptr) out->add_aliases(alias);
    }
    out->set_formula(info.formula);
    out->set_derivative(info.derivative);
    out->set_output_range(info.output_range);
    out->set_kink_convention(info.kink_convention);
    out->set_source(info.source);
    for (int k = 0; k < info.num_params(); ++k) {
      const ParamSpec& p = info.params[k];
      v1::ParamInfo* param = out->add_params();
      param->set_name(p.name);
      param->set_default_value(p.default_value);
      param->set_min(p.min);
      param->set_max(p.max);
      param->set_min_exclusive(p.min_exclusive);
      param->set_max_exclusive(p.max_exclusive);
      param->set_learnable(p.learnable);
      param->set_integer(p.integer);
    }
    const Properties& pr = info.properties;
    v1::Properties* props = out->mutable_properties();
    props->set_monotonic(pr.monotonic);
    props->set_smooth(pr.smooth);
    props->set_zero_centered(pr.zero_centered);
    props->set_saturation(SaturationTable().ToWire(pr.saturation));
    props->set_sparse(pr.sparse);
    props->set_identity_near_zero(pr.identity_near_zero);
    props->set_monotonic_derivative(pr.monotonic_derivative);
    props->set_gradient_flows(pr.gradient_flows);
    props->set_cost(CostTable().ToWire(pr.cost));
    out->set_layout(LayoutTable().ToWire(info.layout));
    out->set_noise(NoiseTable().ToWire(info.noise));
    if (info.last_axis_rule != nullptr) out->set_last_axis_rule(info.last_axis_rule);
    out->set_backward_from_output(info.backward_from_output);
  }
}

}  // namespace actserve::server
