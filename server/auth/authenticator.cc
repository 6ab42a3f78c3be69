#include "server/auth/authenticator.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace actserve::server::auth {

absl::StatusOr<Principal> AuthenticateBearer(absl::Span<const absl::string_view> authorization,
                                             const TokenTable& tokens) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "the server requires a token: send the metadata \"authorization: Bearer <token>\" "
        "(actctl: --token_file or ACTSERVE_TOKEN)");
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError(
        absl::StrCat("send one authorization metadata value, not ", authorization.size()));
  }
  absl::string_view value = authorization.front();
  if (value.size() > kMaxAuthorizationBytes) {
    return absl::UnauthenticatedError(absl::StrCat("the authorization value has ", value.size(),
                                                   " bytes; at most ", kMaxAuthorizationBytes,
                                                   " are accepted"));
  }
  constexpr absl::string_view kScheme = "bearer ";
  if (!absl::StartsWithIgnoreCase(value, kScheme)) {
    return absl::UnauthenticatedError(
        "the authorization value must be \"Bearer <token>\" (another scheme, or none, was sent)");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty()) {
    return absl::UnauthenticatedError("the authorization value \"Bearer\" carries no token");
  }
  for (char c : token) {
    // RFC 6750's b64token: a comma means several values were joined (several headers).
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        absl::string_view("-._~+/=").find(c) == absl::string_view::npos) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the token holds '", std::string(1, c),
          "', which a bearer token cannot (RFC 6750); send one authorization value, once"));
    }
  }
  std::optional<Principal> principal = tokens.Find(token);
  if (!principal.has_value()) {
    return absl::UnauthenticatedError("unknown token (revoked, mistyped, or for another server)");
  }
  return *std::move(principal);
}

absl::StatusOr<Principal> Authenticate(absl::Span<const absl::string_view> authorization,
                                       absl::string_view certificate_name,
                                       const TokenTable& tokens) {
  if (!authorization.empty() || certificate_name.empty()) {
    return AuthenticateBearer(authorization, tokens);
  }
  std::optional<Principal> principal = tokens.FindCertificate(certificate_name);
  if (!principal.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the client certificate \"", certificate_name,
        "\" has no cert: line in the tokens file; send a token (\"authorization: Bearer "
        "<token>\") or ask for the certificate to be listed"));
  }
  return *std::move(principal);
}

}  // namespace actserve::server::auth
