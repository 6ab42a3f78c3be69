#include "server/admission/retry_delay.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace actserve::server {
namespace {

// The payload's type URL and its content: the delay in whole nanoseconds, in decimal.
constexpr char kPayload[] = "actserve/retry_delay_ns";

}  // namespace

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  const int64_t ns = absl::ToInt64Nanoseconds(std::max(delay, absl::ZeroDuration()));
  status.SetPayload(kPayload, absl::Cord(std::to_string(ns)));
  return status;
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayload);
  int64_t ns = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &ns)) return std::nullopt;
  return absl::Nanoseconds(ns);
}

}  // namespace actserve::server
