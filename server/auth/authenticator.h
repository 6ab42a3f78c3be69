// Bearer-token authentication: the values of a call's `authorization` metadata to a Principal.
// Pure logic over strings; server/auth/grpc_auth.h reads the metadata from a gRPC call.
#ifndef ACTSERVE_SERVER_AUTH_AUTHENTICATOR_H_
#define ACTSERVE_SERVER_AUTH_AUTHENTICATOR_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/auth/principal.h"
#include "server/auth/token_table.h"

namespace actserve::server::auth {

// Longest `authorization` value accepted, in bytes.
inline constexpr size_t kMaxAuthorizationBytes = 8 << 10;

// The principal of the one `Bearer <token>` value in `authorization` (the scheme's case is
// ignored, as RFC 7235 says). UNAUTHENTICATED, with a message saying what to send, when there is
// no value, several values, a value over kMaxAuthorizationBytes, another scheme, an empty token,
// a token with characters outside RFC 6750's b64token (a comma: several values joined), or a
// token `tokens` does not know.
absl::StatusOr<Principal> AuthenticateBearer(absl::Span<const absl::string_view> authorization,
                                             const TokenTable& tokens);

// A call's principal: its bearer token (as AuthenticateBearer) when it sends an authorization
// value; otherwise, when it presented a client certificate that the TLS handshake verified
// (mTLS: `certificate_name` is its subject common name, empty without one), the principal of
// the tokens file's `cert:` line for that name. UNAUTHENTICATED otherwise, saying what to send.
absl::StatusOr<Principal> Authenticate(absl::Span<const absl::string_view> authorization,
                                       absl::string_view certificate_name,
                                       const TokenTable& tokens);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_AUTHENTICATOR_H_
