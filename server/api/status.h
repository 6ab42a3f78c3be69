// Statuses at the edge of the services: the one conversion of an absl::Status into a
// grpc::Status, the one into an in-band wire Error, and the statuses the handler path itself
// answers with. Handlers and the core produce absl::Status; nothing else builds a grpc::Status.
#ifndef ACTSERVE_SERVER_API_STATUS_H_
#define ACTSERVE_SERVER_API_STATUS_H_

#include <exception>
#include <new>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "proto/actserve/v1/activation_service.pb.h"

namespace actserve::server {

// The one conversion from absl::Status to grpc::Status (the canonical codes are the same).
grpc::Status ToGrpcStatus(const absl::Status& status);

// The one conversion of a failed status into an in-band wire Error (Evaluate's per-message
// errors, a failed job's error).
void ToWireError(const absl::Status& status, v1::Error* error);

// UNAVAILABLE: the server is draining.
absl::Status DrainingError();
// RESOURCE_EXHAUSTED: the compute pool's queue (of `max_queued` places) is full.
absl::Status BusyError(int max_queued);
// CANCELLED or DEADLINE_EXCEEDED for a call that ended before its work started.
absl::Status ExpiredError(bool cancelled);

// Runs `body` (returning an absl::Status), turning any exception into a status: nothing may
// escape a handler (gRPC's callback API would answer an empty UNIMPLEMENTED).
template <class Body>
absl::Status Guarded(Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory for this request");
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  } catch (...) {
    return absl::InternalError("unknown error");
  }
}

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_STATUS_H_
