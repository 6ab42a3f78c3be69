// The gRPC edge of authentication: a call's metadata and peer to a Principal, and the check a
// server runs for every call before its handler.
#ifndef ACTSERVE_SERVER_AUTH_GRPC_AUTH_H_
#define ACTSERVE_SERVER_AUTH_GRPC_AUTH_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/auth/principal.h"
#include "server/auth/token_file_watcher.h"

namespace actserve::server::auth {

// The subject common name of the client certificate the call's TLS handshake verified (the
// server requires one with --tls_client_ca), or "" without one.
std::string ClientCertificateName(const grpc::ServerContextBase& context);

// Authenticates and authorizes calls. With no tokens file, every call is let through as an
// admin of the tenant "default" (the server then serves loopback only, or with --insecure: see
// listen_policy.h). Thread-safe.
class CallGuard {
 public:
  // `tokens` may be null (no --tokens_file); otherwise it must outlive the guard.
  explicit CallGuard(const TokenFileWatcher* tokens) : tokens_(tokens) {}

  // The principal of the call of `method` (full name, "/pkg.Service/Method") in `context`:
  // nullopt for open methods (health), an admin of "default" without tokens, otherwise the
  // bearer token's principal if it holds the role `method` needs. UNAUTHENTICATED or
  // PERMISSION_DENIED (server/auth/authenticator.h, rpc_roles.h) otherwise.
  absl::StatusOr<std::optional<Principal>> Check(const grpc::ServerContextBase& context,
                                                 absl::string_view method) const;

 private:
  const TokenFileWatcher* tokens_;
};

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_GRPC_AUTH_H_
