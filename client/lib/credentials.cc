#include "client/lib/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"

namespace actserve::client {
namespace {

// The contents of `path`, given as `--flag`; INVALID_ARGUMENT naming both otherwise.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": cannot read it"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> ReadPem(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFlagFile(flag, path);
  if (pem.ok() && !absl::StrContains(*pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": not a PEM file"));
  }
  return pem;
}

// A token as RFC 6750's b64token allows (what the server accepts), or an error naming `source`.
absl::StatusOr<std::string> CheckToken(absl::string_view token, absl::string_view source) {
  token = absl::StripAsciiWhitespace(token);
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
  for (char c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && !absl::StrContains("-._~+/=", c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, " holds a character a token cannot have (letters, digits and -._~+/= only)"));
    }
  }
  return std::string(token);
}

}  // namespace

absl::Status ApplyCredentials(const CredentialOptions& credentials, ChannelOptions* options) {
  if (credentials.cert.empty() != credentials.key.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together: pass both or neither");
  }
  if (credentials.tls || !credentials.ca.empty() || !credentials.cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!credentials.ca.empty()) {
      absl::StatusOr<std::string> ca = ReadPem("ca", credentials.ca);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!credentials.cert.empty()) {
      absl::StatusOr<std::string> cert = ReadPem("cert", credentials.cert);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem("key", credentials.key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    options->credentials = grpc::SslCredentials(ssl);
  }
  if (!credentials.token_file.empty()) {
    absl::StatusOr<std::string> text = ReadFlagFile("token_file", credentials.token_file);
    if (!text.ok()) return text.status();
    absl::string_view first = *text;
    first = first.substr(0, first.find('\n'));
    absl::StatusOr<std::string> token =
        CheckToken(first, absl::StrCat("--token_file=", credentials.token_file));
    if (!token.ok()) return token.status();
    options->token = *std::move(token);
  } else if (const char* env = std::getenv(kTokenEnvironmentVariable); env != nullptr && *env) {
    absl::StatusOr<std::string> token = CheckToken(env, kTokenEnvironmentVariable);
    if (!token.ok()) return token.status();
    options->token = *std::move(token);
  }
  return absl::OkStatus();
}

absl::Status ExplainCredentialFailure(const absl::Status& status, const ChannelOptions& options) {
  const bool tls = options.credentials != nullptr;
  const absl::string_view m = status.message();
  std::string hint;
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      if (absl::StrContains(m, "--token_file")) break;  // the server's message says it already
      hint = options.token.empty()
                 ? "the server requires a token: pass --token_file=FILE or set ACTSERVE_TOKEN"
                 : "the server did not accept the token of --token_file / ACTSERVE_TOKEN";
      break;
    case absl::StatusCode::kUnavailable:
      if (tls && absl::StrContains(m, "WRONG_VERSION_NUMBER")) {
        hint = "the server does not speak TLS: leave out --tls, --ca, --cert and --key";
      } else if (tls && (absl::StrContains(m, "CERTIFICATE_VERIFY_FAILED") ||
                         absl::StrContains(m, "certificate verify failed"))) {
        hint = "the server's certificate is not trusted: pass --ca=FILE with the CA that signed it";
      } else if (tls && (absl::StrContains(m, "Socket closed") ||
                         absl::StrContains(m, "ALERT_CERTIFICATE_REQUIRED") ||
                         absl::StrContains(m, "ALERT_HANDSHAKE_FAILURE"))) {
        // A server with mTLS closes the handshake of a client without an accepted certificate.
        hint =
            "the server ended the TLS handshake: it may require a client certificate "
            "(--cert and --key) signed by its CA";
      } else if (!tls && (absl::StrContains(m, "Socket closed") ||
                          absl::StrContains(m, "Connection reset") ||
                          absl::StrContains(m, "connection closed"))) {
        hint = "if the server uses TLS, pass --tls (and --ca=FILE for a private CA)";
      }
      break;
    default:
      break;
  }
  if (hint.empty()) return status;
  return absl::Status(status.code(), absl::StrCat(m, " (", hint, ")"));
}

}  // namespace actserve::client
