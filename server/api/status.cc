#include "server/api/status.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "proto/google/rpc/status.pb.h"
#include "server/admission/retry_delay.h"

namespace actserve::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::optional<absl::Duration> delay = RetryDelay(status);
  if (!delay.has_value()) return grpc::Status(code, std::string(status.message()));
  // The details trailer: a google.rpc.Status repeating the code and message, with a RetryInfo.
  google::rpc::RetryInfo retry;
  const int64_t ns = absl::ToInt64Nanoseconds(*delay);
  retry.mutable_retry_delay()->set_seconds(ns / 1000000000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ns % 1000000000));
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(status.code()));
  details.set_message(std::string(status.message()));
  details.add_details()->PackFrom(retry);
  return grpc::Status(code, std::string(status.message()), details.SerializeAsString());
}

void ToWireError(const absl::Status& status, v1::Error* error) {
  error->set_code(static_cast<int>(status.code()));
  error->set_message(std::string(status.message()));
}

absl::Status DrainingError() {
  return absl::UnavailableError("server is shutting down; retry on another instance");
}

absl::Status BusyError(int max_queued) {
  return absl::ResourceExhaustedError(
      absl::StrFormat("server busy: %d requests already wait for computation (--max_queued); "
                      "retry with backoff",
                      max_queued));
}

absl::Status ExpiredError(bool cancelled) {
  return cancelled ? absl::CancelledError("call cancelled before it was computed")
                   : absl::DeadlineExceededError("deadline passed before the call was computed");
}

}  // namespace actserve::server
