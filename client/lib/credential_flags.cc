#include "client/lib/credential_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(bool, tls, false,
          "Connect with TLS, checking the server's certificate against the system's CAs (or "
          "--ca). Implied by --ca, --cert and --key.");
ABSL_FLAG(std::string, ca, "", "PEM file of the CA(s) that signed the server's certificate.");
ABSL_FLAG(std::string, cert, "",
          "PEM file of this client's certificate, for a server that requires one (mTLS).");
ABSL_FLAG(std::string, key, "", "PEM file of the private key of --cert.");
ABSL_FLAG(std::string, token_file, "",
          "File whose first line is the bearer token sent with every call (default: the "
          "ACTSERVE_TOKEN environment variable, if set).");

namespace actserve::client {

CredentialOptions CredentialsFromFlags() {
  return {.tls = absl::GetFlag(FLAGS_tls),
          .ca = absl::GetFlag(FLAGS_ca),
          .cert = absl::GetFlag(FLAGS_cert),
          .key = absl::GetFlag(FLAGS_key),
          .token_file = absl::GetFlag(FLAGS_token_file)};
}

}  // namespace actserve::client
