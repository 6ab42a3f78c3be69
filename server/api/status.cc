#include "server/api/status.h"

#include <string>

#include "absl/strings/str_format.h"

namespace actserve::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
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
