#include "server/auth/server_security.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "server/auth/listen_policy.h"
#include "server/auth/tls_credentials.h"

namespace actserve::server::auth {

absl::StatusOr<ServerSecurity> SetUpSecurity(const SecurityFlags& flags) {
  const SecurityConfig config{.tls = !flags.tls_cert.empty() || !flags.tls_key.empty(),
                              .client_certs = !flags.tls_client_ca.empty(),
                              .tokens = !flags.tokens_file.empty(),
                              .insecure = flags.insecure};
  if (absl::Status s = CheckListenAddress(flags.address, config); !s.ok()) return s;
  ServerSecurity security;
  const TlsFiles files{
      .cert = flags.tls_cert, .key = flags.tls_key, .client_ca = flags.tls_client_ca};
  if (absl::Status s = CheckTlsFiles(files); !s.ok()) return s;
  if (const std::string warning = CertificateValidityWarning(files); !warning.empty()) {
    std::fprintf(stderr, "actserve: warning: %s\n", warning.c_str());
  }
  if (config.tls) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls =
        NewTlsServerCredentials(files, flags.reload_interval);
    if (!tls.ok()) return tls.status();
    security.credentials = *std::move(tls);
  } else {
    security.credentials = grpc::InsecureServerCredentials();
  }
  if (config.tokens) {
    absl::StatusOr<std::unique_ptr<TokenFileWatcher>> tokens = TokenFileWatcher::Start(
        flags.tokens_file, flags.reload_interval,
        [](const std::string& news) { std::fprintf(stderr, "actserve: %s\n", news.c_str()); });
    if (!tokens.ok()) return tokens.status();
    security.tokens = *std::move(tokens);
  }
  security.reflection = ServeReflection(flags.address, flags.reflection);
  security.insecure = ServesInsecurely(flags.address, config);
  security.summary = absl::StrCat(
      config.tls ? (config.client_certs ? "TLS with client certificates (mTLS)" : "TLS")
                 : "plaintext",
      ", ",
      security.tokens != nullptr ? absl::StrCat(security.tokens->Current()->size(), " tokens")
                                 : "no tokens (every caller is an admin)",
      ", reflection ", security.reflection ? "on" : "off",
      security.insecure ? "; INSECURE: reachable from other machines without TLS and tokens "
                          "(--insecure)"
                        : "");
  return security;
}

}  // namespace actserve::server::auth
