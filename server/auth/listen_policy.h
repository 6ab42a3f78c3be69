// Safe defaults: where the server may listen given the credentials it has.
//
// Without credentials the server serves loopback only (Redis's protected mode): a non-loopback
// address needs TLS and a way to authenticate callers (tokens, or client certificates under
// mTLS), or an explicit --insecure. Reflection is served on loopback, elsewhere only on request.
#ifndef ACTSERVE_SERVER_AUTH_LISTEN_POLICY_H_
#define ACTSERVE_SERVER_AUTH_LISTEN_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace actserve::server::auth {

struct SecurityConfig {
  bool tls = false;           // --tls_cert and --tls_key
  bool client_certs = false;  // --tls_client_ca: mTLS
  bool tokens = false;        // --tokens_file
  bool insecure = false;      // --insecure
};

// True for a gRPC listen address that only this machine can reach: 127.0.0.0/8, [::1],
// localhost, or a unix: socket. "0.0.0.0:P", "[::]:P", ":P" and any other host are not.
bool IsLoopbackAddress(absl::string_view address);

// OK if the server may listen on `address` with `config`; FAILED_PRECONDITION saying which flags
// to pass otherwise.
absl::Status CheckListenAddress(absl::string_view address, const SecurityConfig& config);

// True if `address` is reachable from elsewhere without both TLS and caller authentication (it
// is allowed only with --insecure, and the server says so in its log and metrics).
bool ServesInsecurely(absl::string_view address, const SecurityConfig& config);

// True if reflection is served: asked for with --reflection, or the address is loopback.
bool ServeReflection(absl::string_view address, bool reflection_flag);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_LISTEN_POLICY_H_
