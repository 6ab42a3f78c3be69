// Client credentials: TLS (with the server's CA and, for mTLS, the client's certificate) and the
// bearer token, read from files into ChannelOptions (channel.h). Every client in this repository
// (actctl, actload, the C++ libraries' users) takes them as the same flags (credential_flags.h):
// --tls, --ca, --cert, --key and --token_file, or the ACTSERVE_TOKEN environment variable. A token
// is never only a command-line argument, where other users of the machine could read it.
#ifndef ACTSERVE_CLIENT_LIB_CREDENTIALS_H_
#define ACTSERVE_CLIENT_LIB_CREDENTIALS_H_

#include <string>

#include "absl/status/status.h"
#include "client/lib/channel.h"

namespace actserve::client {

// The environment variable a token is read from when no token file is given.
inline constexpr char kTokenEnvironmentVariable[] = "ACTSERVE_TOKEN";

struct CredentialOptions {
  bool tls = false;        // TLS; implied by ca, cert and key
  std::string ca;          // PEM roots the server's certificate must chain to; empty: the system's
  std::string cert, key;   // the client's PEM certificate and key, for a server with mTLS
  std::string token_file;  // a file whose first line is the token; empty: $ACTSERVE_TOKEN if set
};

// Fills `options->credentials` (TLS, or null for plaintext) and `options->token` from
// `credentials`. INVALID_ARGUMENT naming the flag and the path when a file cannot be read, is
// not PEM, or only one of cert and key is given; a token file that is empty or holds characters
// a token cannot have (spaces inside, control characters) is refused the same way.
absl::Status ApplyCredentials(const CredentialOptions& credentials, ChannelOptions* options);

// `status` of a call made with `options`, with a hint when it looks like missing or mismatched
// credentials: UNAUTHENTICATED without a token ("the server requires a token: pass
// --token_file ..."), PERMISSION_DENIED, and a connection that failed as a TLS mismatch does
// (plaintext to a TLS server, TLS to a plaintext one, a certificate not trusted).
absl::Status ExplainCredentialFailure(const absl::Status& status, const ChannelOptions& options);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_LIB_CREDENTIALS_H_
