#include "server/auth/grpc_auth.h"

#include <memory>
#include <string>
#include <vector>

#include "server/auth/authenticator.h"
#include "server/auth/rpc_roles.h"

namespace actserve::server::auth {

std::string ClientCertificateName(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  const std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
  return names.empty() ? "" : std::string(names.front().data(), names.front().size());
}

absl::StatusOr<std::optional<Principal>> CallGuard::Check(const grpc::ServerContextBase& context,
                                                          absl::string_view method) const {
  const Access access = AccessFor(method);
  if (access == Access::kOpen) return std::nullopt;
  if (tokens_ == nullptr) {
    return Principal{.tenant = "default", .roles = RoleSet().Add(Role::kAdmin)};
  }
  std::vector<absl::string_view> values;
  const auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  absl::StatusOr<Principal> principal =
      Authenticate(values, ClientCertificateName(context), *tokens_->Current());
  if (!principal.ok()) return principal.status();
  if (access == Access::kRole) {
    if (absl::Status allowed = Authorize(*principal, method); !allowed.ok()) return allowed;
  }
  return std::optional<Principal>(*std::move(principal));
}

}  // namespace actserve::server::auth
