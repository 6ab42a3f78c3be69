// A refusal's retry delay: how long a client should wait before trying again, carried in the
// absl::Status itself (as a payload) so that the core can say it without knowing about gRPC.
// The service edge (server/api/status.h) sends it to clients as google.rpc.RetryInfo in the
// status details, the standard place gRPC clients look for it.
#ifndef ACTSERVE_SERVER_ADMISSION_RETRY_DELAY_H_
#define ACTSERVE_SERVER_ADMISSION_RETRY_DELAY_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace actserve::server {

// `status` (not OK) with `delay` attached; a negative delay is taken as zero.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// The delay WithRetryDelay attached to `status`, if any.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ADMISSION_RETRY_DELAY_H_
