// JobOwners: the tenant that submitted each training job and sweep. A tenant sees only its own
// jobs and sweeps; an admin sees every tenant's. The training service asks it before answering
// for an id, and answers NOT_FOUND (as for an unknown id) when the caller may not see it, so
// that another tenant's job is not disclosed. Thread-safe.
#ifndef ACTSERVE_SERVER_AUTH_JOB_OWNERS_H_
#define ACTSERVE_SERVER_AUTH_JOB_OWNERS_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/principal.h"

namespace actserve::server::auth {

class JobOwners {
 public:
  // `id` (a job or sweep) belongs to `tenant`.
  void Record(const std::string& id, const std::string& tenant);
  // `id` is gone.
  void Forget(const std::string& id);
  // True if `caller` may see `id`: an admin, the owner, or an id never recorded (the job
  // manager then answers for it, NOT_FOUND if it does not exist).
  bool Visible(const Principal& caller, const std::string& id) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> owner_ ABSL_GUARDED_BY(mu_);
};

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_JOB_OWNERS_H_
