// TrainingClient: a C++ client of actserve.v1.TrainingService. Every failure is an absl::Status
// with the server's code and message. Thread-safe: calls may run concurrently.
#ifndef ACTSERVE_CLIENT_LIB_TRAINING_CLIENT_H_
#define ACTSERVE_CLIENT_LIB_TRAINING_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/lib/channel.h"
#include "grpcpp/channel.h"
#include "proto/actserve/v1/training_service.grpc.pb.h"

namespace actserve::client {

class TrainingClient {
 public:
  // A client on a new channel to `target` (any ChannelOptions target).
  static std::unique_ptr<TrainingClient> Connect(const std::string& target);
  static std::unique_ptr<TrainingClient> Connect(const ChannelOptions& options);
  explicit TrainingClient(std::shared_ptr<grpc::Channel> channel);

  // Unary calls, each with `timeout`.
  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec,
                                 absl::Duration timeout = absl::Seconds(60));
  absl::StatusOr<v1::Job> Get(const std::string& id, bool include_weights = false,
                              absl::Duration timeout = absl::Seconds(30));
  absl::StatusOr<std::vector<v1::Job>> List(absl::Duration timeout = absl::Seconds(30));
  absl::StatusOr<v1::Job> Cancel(const std::string& id, absl::Duration timeout = absl::Seconds(30));
  absl::Status Delete(const std::string& id, absl::Duration timeout = absl::Seconds(30));
  absl::StatusOr<v1::PredictResponse> Predict(const v1::PredictRequest& request,
                                              absl::Duration timeout = absl::Seconds(60));
  absl::StatusOr<v1::Sweep> SubmitSweep(const v1::SubmitSweepRequest& request,
                                        absl::Duration timeout = absl::Seconds(60));
  absl::StatusOr<v1::Sweep> GetSweep(const std::string& id,
                                     absl::Duration timeout = absl::Seconds(30));

  // Watches a job from report `from`: calls `on_progress` for each report, on this thread, and
  // returns the job in its end state. No deadline: a job may train for long.
  absl::StatusOr<v1::Job> Watch(const std::string& id, int64_t from,
                                const std::function<void(const v1::Progress&)>& on_progress);

 private:
  std::unique_ptr<v1::TrainingService::Stub> stub_;
};

// Parses a job description in protobuf's JSON mapping (`json`) or text format, with protobuf's
// own parsers. INVALID_ARGUMENT with the parser's message (line and column) on failure.
absl::StatusOr<v1::JobSpec> ParseJobSpec(const std::string& text, bool json);
// Reads and parses a job file: JSON if its name ends in .json, text format otherwise.
absl::StatusOr<v1::JobSpec> ReadJobSpec(const std::string& path);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_LIB_TRAINING_CLIENT_H_
