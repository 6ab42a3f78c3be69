#include "server/admission/tenant_quotas.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "server/admission/retry_delay.h"

namespace actserve::server {
namespace {

// The retry delay of the in-flight quotas: they free up as the tenant's calls end, which for
// the calls they meter takes milliseconds.
constexpr absl::Duration kInFlightRetryDelay = absl::Milliseconds(100);

}  // namespace

const char* QuotaReasonName(QuotaReason reason) {
  switch (reason) {
    case QuotaReason::kRate:
      return "rate";
    case QuotaReason::kCalls:
      return "calls";
    case QuotaReason::kBytes:
      return "bytes";
    case QuotaReason::kCount:
      break;
  }
  return "unknown";
}

class TenantQuotas::QuotaGrant final : public Admission::Grant {
 public:
  QuotaGrant(TenantQuotas* quotas, std::string tenant, int64_t bytes, std::unique_ptr<Grant> next)
      : quotas_(quotas), tenant_(std::move(tenant)), bytes_(bytes), next_(std::move(next)) {}
  ~QuotaGrant() override {
    next_.reset();
    quotas_->Release(tenant_, bytes_);
  }

 private:
  TenantQuotas* const quotas_;
  const std::string tenant_;
  const int64_t bytes_;
  std::unique_ptr<Grant> next_;
};

TenantQuotas::TenantQuotas(const TenantQuotaOptions& options, Admission& next,
                           std::function<absl::Time()> clock)
    : options_(options),
      burst_(options.burst > 0 ? options.burst : std::max(1.0, options.requests_per_second)),
      next_(next),
      clock_(std::move(clock)) {}

absl::StatusOr<std::unique_ptr<Admission::Grant>> TenantQuotas::Admit(const CallInfo& call) {
  if (call.tenant.empty()) return next_.Admit(call);
  const int64_t bytes = std::max<int64_t>(0, call.request_bytes);
  {
    const absl::Time now = clock_();
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = tenants_.try_emplace(call.tenant);
    Tenant& t = it->second;
    if (inserted) {
      t.usage.tenant = std::string(call.tenant);
      t.tokens = burst_;
      t.refilled = now;
    }
    auto refuse = [&t](QuotaReason reason, absl::Status status) {
      ++t.usage.rejected[static_cast<int>(reason)];
      return status;
    };
    if (options_.requests_per_second > 0) {
      t.tokens = std::min(burst_, t.tokens + options_.requests_per_second *
                                                 absl::ToDoubleSeconds(std::max(
                                                     now - t.refilled, absl::ZeroDuration())));
      t.refilled = std::max(t.refilled, now);
      if (t.tokens < 1) {
        const absl::Duration wait = absl::Seconds((1 - t.tokens) / options_.requests_per_second);
        return refuse(
            QuotaReason::kRate,
            WithRetryDelay(absl::ResourceExhaustedError(absl::StrFormat(
                               "tenant '%s' is over its rate of %g requests per "
                               "second (--tenant_rps); retry in %s",
                               call.tenant, options_.requests_per_second,
                               absl::FormatDuration(absl::Ceil(wait, absl::Milliseconds(1))))),
                           wait));
      }
    }
    if (options_.max_calls > 0 && t.usage.calls_in_flight >= options_.max_calls) {
      return refuse(QuotaReason::kCalls,
                    WithRetryDelay(absl::ResourceExhaustedError(absl::StrFormat(
                                       "tenant '%s' already has %d calls in flight, its quota "
                                       "(--tenant_max_calls); retry when one ends",
                                       call.tenant, t.usage.calls_in_flight)),
                                   kInFlightRetryDelay));
    }
    if (options_.max_bytes > 0 && bytes > options_.max_bytes) {
      // Never fits: no retry delay.
      return refuse(QuotaReason::kBytes,
                    absl::ResourceExhaustedError(absl::StrFormat(
                        "request of %d bytes is larger than tenant '%s''s quota of %d bytes in "
                        "flight (--tenant_max_bytes); send smaller requests",
                        bytes, call.tenant, options_.max_bytes)));
    }
    if (options_.max_bytes > 0 && t.usage.bytes_in_flight + bytes > options_.max_bytes) {
      return refuse(
          QuotaReason::kBytes,
          WithRetryDelay(absl::ResourceExhaustedError(absl::StrFormat(
                             "tenant '%s' has %d request bytes in flight; %d more "
                             "would pass its quota of %d (--tenant_max_bytes); retry "
                             "when its calls end",
                             call.tenant, t.usage.bytes_in_flight, bytes, options_.max_bytes)),
                         kInFlightRetryDelay));
    }
    if (options_.requests_per_second > 0) t.tokens -= 1;
    ++t.usage.admitted;
    t.usage.admitted_bytes += bytes;
    ++t.usage.calls_in_flight;
    t.usage.bytes_in_flight += bytes;
  }
  absl::StatusOr<std::unique_ptr<Grant>> next = next_.Admit(call);
  if (!next.ok()) {
    Release(std::string(call.tenant), bytes);
    return next.status();
  }
  return std::make_unique<QuotaGrant>(this, std::string(call.tenant), bytes, *std::move(next));
}

void TenantQuotas::Release(const std::string& tenant, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;
  --it->second.usage.calls_in_flight;
  it->second.usage.bytes_in_flight -= bytes;
}

std::vector<TenantUsage> TenantQuotas::Usage() const {
  std::vector<TenantUsage> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, t] : tenants_) out.push_back(t.usage);
  }
  std::sort(out.begin(), out.end(),
            [](const TenantUsage& a, const TenantUsage& b) { return a.tenant < b.tenant; });
  return out;
}

}  // namespace actserve::server
