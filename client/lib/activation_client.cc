#include "client/lib/activation_client.h"

#include "grpcpp/client_context.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace actserve::client {
namespace {

template <class T>
void FillTensor(absl::Span<const int64_t> shape, absl::Span<const T> values, v1::Tensor* t) {
  t->mutable_shape()->Assign(shape.begin(), shape.end());
  if constexpr (std::is_same_v<T, float>) {
    t->set_dtype(v1::DTYPE_FLOAT32);
    t->mutable_float_data()->Assign(values.begin(), values.end());
  } else {
    t->set_dtype(v1::DTYPE_FLOAT64);
    t->mutable_double_data()->Assign(values.begin(), values.end());
  }
}

template <class T>
TensorResult<T> FromTensor(const v1::Tensor& t) {
  TensorResult<T> r;
  r.shape.assign(t.shape().begin(), t.shape().end());
  if constexpr (std::is_same_v<T, float>) {
    r.values.assign(t.float_data().begin(), t.float_data().end());
  } else {
    r.values.assign(t.double_data().begin(), t.double_data().end());
  }
  return r;
}

template <class Request>
void FillCommon(const std::string& activation, const CallOptions& o, Request* req) {
  req->set_activation(activation);
  for (const auto& [name, values] : o.params) {
    v1::Parameter* p = req->add_params();
    p->set_name(name);
    p->mutable_values()->Assign(values.begin(), values.end());
  }
  req->set_seed(o.seed);
  req->set_training(o.training);
  req->set_backend(o.backend);
}

}  // namespace

std::unique_ptr<ActivationClient> ActivationClient::Connect(const std::string& target) {
  return std::make_unique<ActivationClient>(NewChannel(target));
}

std::unique_ptr<ActivationClient> ActivationClient::Connect(const ChannelOptions& options) {
  return std::make_unique<ActivationClient>(NewChannel(options));
}

ActivationClient::ActivationClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(v1::ActivationService::NewStub(channel_)) {}

absl::StatusOr<std::vector<v1::ActivationInfo>> ActivationClient::ListActivations(
    absl::Duration timeout) {
  grpc::ClientContext context;
  SetTimeout(&context, timeout);
  v1::ListActivationsResponse response;
  grpc::Status s = stub_->ListActivations(&context, v1::ListActivationsRequest(), &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return std::vector<v1::ActivationInfo>(response.activations().begin(),
                                         response.activations().end());
}

template <class T>
absl::StatusOr<TensorResult<T>> ActivationClient::DoForward(const std::string& activation,
                                                            absl::Span<const int64_t> shape,
                                                            absl::Span<const T> x,
                                                            const CallOptions& options) {
  v1::ForwardRequest request;
  FillCommon(activation, options, &request);
  FillTensor(shape, x, request.mutable_x());
  grpc::ClientContext context;
  SetTimeout(&context, options.timeout);
  v1::ForwardResponse response;
  grpc::Status s = stub_->Forward(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return FromTensor<T>(response.y());
}

template <class T>
absl::StatusOr<BackwardResult<T>> ActivationClient::DoBackward(
    const std::string& activation, absl::Span<const int64_t> shape, absl::Span<const T> x,
    absl::Span<const int64_t> dy_shape, absl::Span<const T> dy, const CallOptions& options) {
  v1::BackwardRequest request;
  FillCommon(activation, options, &request);
  FillTensor(shape, x, request.mutable_x());
  FillTensor(dy_shape, dy, request.mutable_dy());
  grpc::ClientContext context;
  SetTimeout(&context, options.timeout);
  v1::BackwardResponse response;
  grpc::Status s = stub_->Backward(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  BackwardResult<T> result;
  result.dx = FromTensor<T>(response.dx());
  for (const v1::Parameter& p : response.param_gradients()) {
    result.param_gradients[p.name()].assign(p.values().begin(), p.values().end());
  }
  return result;
}

absl::StatusOr<TensorResult<float>> ActivationClient::Forward(const std::string& activation,
                                                              absl::Span<const int64_t> shape,
                                                              absl::Span<const float> x,
                                                              const CallOptions& options) {
  return DoForward(activation, shape, x, options);
}
absl::StatusOr<TensorResult<double>> ActivationClient::Forward(const std::string& activation,
                                                               absl::Span<const int64_t> shape,
                                                               absl::Span<const double> x,
                                                               const CallOptions& options) {
  return DoForward(activation, shape, x, options);
}
absl::StatusOr<BackwardResult<float>> ActivationClient::Backward(
    const std::string& activation, absl::Span<const int64_t> shape, absl::Span<const float> x,
    absl::Span<const int64_t> dy_shape, absl::Span<const float> dy, const CallOptions& options) {
  return DoBackward(activation, shape, x, dy_shape, dy, options);
}
absl::StatusOr<BackwardResult<double>> ActivationClient::Backward(
    const std::string& activation, absl::Span<const int64_t> shape, absl::Span<const double> x,
    absl::Span<const int64_t> dy_shape, absl::Span<const double> dy, const CallOptions& options) {
  return DoBackward(activation, shape, x, dy_shape, dy, options);
}

absl::StatusOr<bool> ActivationClient::Healthy(const std::string& service, absl::Duration timeout) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  SetTimeout(&context, timeout);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status s = health->Check(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace actserve::client
