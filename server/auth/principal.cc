#include "server/auth/principal.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace actserve::server::auth {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kCompute:
      return "compute";
    case Role::kTrain:
      return "train";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kCompute, Role::kTrain, Role::kAdmin}) {
    if (name == RoleName(role)) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role \"", name, "\" (expected compute, train or admin)"));
}

std::string RoleSet::ToString() const {
  std::string out;
  for (Role role : {Role::kCompute, Role::kTrain, Role::kAdmin}) {
    if ((bits_ & static_cast<uint8_t>(role)) == 0) continue;
    if (!out.empty()) out += ",";
    absl::StrAppend(&out, RoleName(role));
  }
  return out;
}

}  // namespace actserve::server::auth
