#include "server/auth/auth_admission.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/auth/authenticator.h"
#include "server/auth/rpc_roles.h"

namespace actserve::server::auth {
namespace {

class AuthAdmission final : public Admission {
 public:
  AuthAdmission(const TokenFileWatcher& tokens, Admission& next) : tokens_(tokens), next_(next) {}

  absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo& call) override {
    const std::string method = absl::StrCat("/", call.service, "/", call.method);
    if (AccessFor(method) == Access::kOpen) return next_.Admit(call);
    std::vector<absl::string_view> values;
    if (std::optional<absl::string_view> value = call.header("authorization")) {
      values.push_back(*value);
    }
    absl::StatusOr<Principal> principal =
        Authenticate(values, call.certificate_name, *tokens_.Current());
    if (!principal.ok()) return principal.status();
    if (absl::Status allowed = Authorize(*principal, method); !allowed.ok()) return allowed;
    CallInfo named = call;  // the next rules (tenant quotas) meter the caller's tenant
    named.tenant = principal->tenant;
    return next_.Admit(named);
  }

 private:
  const TokenFileWatcher& tokens_;
  Admission& next_;
};

}  // namespace

std::unique_ptr<Admission> NewAuthAdmission(const TokenFileWatcher& tokens, Admission& next) {
  return std::make_unique<AuthAdmission>(tokens, next);
}

}  // namespace actserve::server::auth
