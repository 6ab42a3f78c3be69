#include "server/auth/job_owners.h"

namespace actserve::server::auth {

void JobOwners::Record(const std::string& id, const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  owner_[id] = tenant;
}

void JobOwners::Forget(const std::string& id) {
  absl::MutexLock lock(&mu_);
  owner_.erase(id);
}

bool JobOwners::Visible(const Principal& caller, const std::string& id) const {
  if (caller.is_admin()) return true;
  absl::MutexLock lock(&mu_);
  auto it = owner_.find(id);
  return it == owner_.end() || it->second == caller.tenant;
}

}  // namespace actserve::server::auth
