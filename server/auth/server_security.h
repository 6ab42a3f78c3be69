// The server's security set-up from its flags: listen policy, TLS credentials, the tokens file
// and whether reflection is served. main.cc calls it once, before building the server.
#ifndef ACTSERVE_SERVER_AUTH_SERVER_SECURITY_H_
#define ACTSERVE_SERVER_AUTH_SERVER_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "server/auth/token_file_watcher.h"

namespace actserve::server::auth {

struct SecurityFlags {
  std::string address;  // --address
  std::string tls_cert, tls_key, tls_client_ca, tokens_file;
  bool insecure = false;
  bool reflection = false;
  absl::Duration reload_interval = absl::Seconds(1);  // certificates and tokens
};

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;  // TLS, or insecure
  std::unique_ptr<TokenFileWatcher> tokens;              // null without --tokens_file
  bool reflection = false;                               // serve reflection
  bool insecure = false;  // reachable from elsewhere without TLS and authentication
  std::string summary;    // one line for the log: "TLS, mTLS, 3 tokens, reflection off"
};

// INVALID_ARGUMENT, NOT_FOUND, ... for bad TLS or tokens files (tls_credentials.h,
// token_table.h); FAILED_PRECONDITION for a non-loopback address without TLS and authentication
// and without --insecure (listen_policy.h). Token-file reloads are reported on stderr.
absl::StatusOr<ServerSecurity> SetUpSecurity(const SecurityFlags& flags);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_SERVER_SECURITY_H_
