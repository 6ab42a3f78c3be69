// Statuses every service's handlers share: a full compute queue, and exceptions that must not
// escape a handler.
#ifndef ACTSERVE_SERVER_HANDLER_STATUS_H_
#define ACTSERVE_SERVER_HANDLER_STATUS_H_

#include <exception>
#include <new>

#include "absl/strings/str_format.h"
#include "grpcpp/support/status.h"
#include "server/compute_pool.h"

namespace actserve::server {

// RESOURCE_EXHAUSTED for a request the compute pool's full queue refused.
inline grpc::Status Busy(const ComputePool& pool) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrFormat("server busy: %d requests already wait for computation "
                                      "(--max_queued); retry with backoff",
                                      pool.max_queued()));
}

// Runs `body` (returning a grpc::Status), turning any exception into a status: nothing may
// escape a handler (gRPC's callback API would answer an empty UNIMPLEMENTED).
template <class Body>
grpc::Status Guarded(Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory for this request");
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  } catch (...) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unknown error");
  }
}

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_HANDLER_STATUS_H_
