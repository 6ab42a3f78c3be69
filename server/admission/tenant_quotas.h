// TenantQuotas: the Admission (admission.h) that meters each tenant's calls, so that one greedy
// tenant cannot starve the others. Per tenant (CallInfo::tenant; calls without a tenant, such
// as health probes, pass through unmetered):
//   - requests per second: a token bucket of `burst` calls refilled at `requests_per_second`;
//   - calls in flight: at most `max_calls` admitted units of work at once;
//   - request bytes in flight: at most `max_bytes` of admitted requests' bytes at once.
// A refusal is RESOURCE_EXHAUSTED naming the quota and its flag, with a retry delay
// (retry_delay.h: when a token is due for the rate; a short pause for the in-flight quotas,
// which free up as calls end). Admitted calls are then asked of `next`, and hold their quota
// until their grant is destroyed. Usage() reports each tenant's counters for the metrics.
// Thread-safe; never blocks. Tenants are kept for the server's lifetime: they come from the
// tokens file, so their number is bounded by it.
#ifndef ACTSERVE_SERVER_ADMISSION_TENANT_QUOTAS_H_
#define ACTSERVE_SERVER_ADMISSION_TENANT_QUOTAS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/admission/admission.h"

namespace actserve::server {

struct TenantQuotaOptions {
  double requests_per_second = 0;  // 0: no rate limit
  double burst = 0;                // the bucket's size; 0: max(1, requests_per_second)
  int max_calls = 0;               // 0: no limit
  int64_t max_bytes = 0;           // 0: no limit
};

// Why a tenant's call was refused.
enum class QuotaReason { kRate, kCalls, kBytes, kCount };
// "rate", "calls", "bytes": the metrics' reason label.
const char* QuotaReasonName(QuotaReason reason);

// One tenant's counters since the server started.
struct TenantUsage {
  std::string tenant;
  int64_t admitted = 0;        // calls admitted by the quotas (the next rule may still refuse)
  int64_t admitted_bytes = 0;  // their request bytes
  int64_t rejected[static_cast<int>(QuotaReason::kCount)] = {};
  int calls_in_flight = 0;
  int64_t bytes_in_flight = 0;
};

class TenantQuotas final : public Admission {
 public:
  // `next` must outlive the quotas. `clock` (tests) replaces absl::Now.
  TenantQuotas(const TenantQuotaOptions& options, Admission& next,
               std::function<absl::Time()> clock = absl::Now);

  absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo& call) override;

  // Every tenant seen so far, by name.
  std::vector<TenantUsage> Usage() const;

 private:
  struct Tenant {
    TenantUsage usage;
    double tokens = 0;  // the bucket
    absl::Time refilled;
  };
  class QuotaGrant;
  void Release(const std::string& tenant, int64_t bytes);

  const TenantQuotaOptions options_;
  const double burst_;
  Admission& next_;
  const std::function<absl::Time()> clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Tenant> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ADMISSION_TENANT_QUOTAS_H_
