// Which role each rpc needs: the one table of authorization rules.
//
// Methods are full gRPC names ("/actserve.v1.ActivationService/Forward"). The health service
// needs nothing (probes have no token); reflection needs any authenticated caller; every other
// method needs the role in the table, and a method the table does not know needs admin (deny by
// default). Tests walk the services' descriptors so that a new rpc without a row fails them.
#ifndef ACTSERVE_SERVER_AUTH_RPC_ROLES_H_
#define ACTSERVE_SERVER_AUTH_RPC_ROLES_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/auth/principal.h"

namespace actserve::server::auth {

enum class Access {
  kOpen,           // no credentials: the health service
  kAuthenticated,  // any valid token: reflection
  kRole,           // the role given by RequiredRole
};

// How `method` is guarded.
Access AccessFor(absl::string_view method);
// The role `method` needs (admin for methods the table does not list); nullopt for methods whose
// access is not kRole.
std::optional<Role> RequiredRole(absl::string_view method);
// True if the table has a row for `method` (tests use it to find rpcs without one).
bool IsListed(absl::string_view method);

// OK if `principal` may call `method`; PERMISSION_DENIED naming the role it lacks otherwise.
absl::Status Authorize(const Principal& principal, absl::string_view method);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_RPC_ROLES_H_
