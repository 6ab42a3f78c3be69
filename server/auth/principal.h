// Roles and the Principal: who a call comes from once it is authenticated.
//
// compute: ActivationService (Forward, Backward, Evaluate, ListActivations).
// train:   TrainingService (jobs and sweeps of the caller's own tenant).
// admin:   every rpc, and every tenant's jobs. An admin holds every other role implicitly.
#ifndef ACTSERVE_SERVER_AUTH_PRINCIPAL_H_
#define ACTSERVE_SERVER_AUTH_PRINCIPAL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace actserve::server::auth {

enum class Role : uint8_t { kCompute = 1, kTrain = 2, kAdmin = 4 };

// "compute", "train" or "admin".
absl::string_view RoleName(Role role);
// The role named `name` (exact, lower case); INVALID_ARGUMENT naming the known roles otherwise.
absl::StatusOr<Role> ParseRole(absl::string_view name);

// A set of roles, as a bit mask of Role values.
class RoleSet {
 public:
  RoleSet() = default;
  RoleSet& Add(Role role) {
    bits_ |= static_cast<uint8_t>(role);
    return *this;
  }
  // True if `role` is in the set or the set holds admin.
  bool Grants(Role role) const {
    return (bits_ & (static_cast<uint8_t>(role) | static_cast<uint8_t>(Role::kAdmin))) != 0;
  }
  bool empty() const { return bits_ == 0; }
  // "compute,train": the roles in the order compute, train, admin.
  std::string ToString() const;
  bool operator==(const RoleSet& other) const { return bits_ == other.bits_; }

 private:
  uint8_t bits_ = 0;
};

// An authenticated caller: the tenant its jobs belong to and the roles it holds.
struct Principal {
  std::string tenant;
  RoleSet roles;

  bool is_admin() const { return roles.Grants(Role::kAdmin); }
};

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_PRINCIPAL_H_
