// ActivationClient: typed calls to an actserve server. Values go in as spans and come back as
// vectors; every failure is an absl::Status with the server's code and message. Thread-safe:
// calls may be made concurrently from any number of threads.
#ifndef ACTSERVE_CLIENT_LIB_ACTIVATION_CLIENT_H_
#define ACTSERVE_CLIENT_LIB_ACTIVATION_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/lib/channel.h"
#include "grpcpp/channel.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"

namespace actserve::client {

// Options of one Forward or Backward call.
struct CallOptions {
  // Parameter overrides: one value, or one per channel for learnable parameters.
  std::vector<std::pair<std::string, std::vector<double>>> params;
  uint64_t seed = 0;
  bool training = false;
  v1::Backend backend = v1::BACKEND_UNSPECIFIED;
  absl::Duration timeout = absl::Seconds(30);
};

template <class T>
struct TensorResult {
  std::vector<int64_t> shape;
  std::vector<T> values;
};

template <class T>
struct BackwardResult {
  TensorResult<T> dx;
  // Learnable-parameter gradients by parameter name.
  std::map<std::string, std::vector<double>> param_gradients;
};

class ActivationClient {
 public:
  // A client on a new channel to `target` (any ChannelOptions target).
  static std::unique_ptr<ActivationClient> Connect(const std::string& target);
  static std::unique_ptr<ActivationClient> Connect(const ChannelOptions& options);
  explicit ActivationClient(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<std::vector<v1::ActivationInfo>> ListActivations(
      absl::Duration timeout = absl::Seconds(10));

  // f(x) for x of the given shape (x.size() must match it, or the server says why not).
  absl::StatusOr<TensorResult<float>> Forward(const std::string& activation,
                                              absl::Span<const int64_t> shape,
                                              absl::Span<const float> x,
                                              const CallOptions& options = {});
  absl::StatusOr<TensorResult<double>> Forward(const std::string& activation,
                                               absl::Span<const int64_t> shape,
                                               absl::Span<const double> x,
                                               const CallOptions& options = {});

  // dx and parameter gradients; dy has the forward output's shape (`dy_shape`).
  absl::StatusOr<BackwardResult<float>> Backward(const std::string& activation,
                                                 absl::Span<const int64_t> shape,
                                                 absl::Span<const float> x,
                                                 absl::Span<const int64_t> dy_shape,
                                                 absl::Span<const float> dy,
                                                 const CallOptions& options = {});
  absl::StatusOr<BackwardResult<double>> Backward(const std::string& activation,
                                                  absl::Span<const int64_t> shape,
                                                  absl::Span<const double> x,
                                                  absl::Span<const int64_t> dy_shape,
                                                  absl::Span<const double> dy,
                                                  const CallOptions& options = {});

  // The gRPC health status of `service` ("" for the whole server): true when SERVING.
  absl::StatusOr<bool> Healthy(const std::string& service = "",
                               absl::Duration timeout = absl::Seconds(5));

  v1::ActivationService::Stub& stub() { return *stub_; }

 private:
  template <class T>
  absl::StatusOr<TensorResult<T>> DoForward(const std::string& activation,
                                            absl::Span<const int64_t> shape, absl::Span<const T> x,
                                            const CallOptions& options);
  template <class T>
  absl::StatusOr<BackwardResult<T>> DoBackward(const std::string& activation,
                                               absl::Span<const int64_t> shape,
                                               absl::Span<const T> x,
                                               absl::Span<const int64_t> dy_shape,
                                               absl::Span<const T> dy, const CallOptions& options);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ActivationService::Stub> stub_;
};

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_LIB_ACTIVATION_CLIENT_H_
