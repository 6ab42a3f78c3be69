// Server TLS credentials from --tls_cert, --tls_key and --tls_client_ca, reloaded from disk.
//
// The certificate chain and key (and the client CA bundle) are watched by gRPC's
// FileWatcherCertificateProvider: a rotated certificate is served to new connections within
// `refresh` of the change, without a restart; connections already open keep theirs. With a
// client CA, clients must present a certificate it signed (mTLS).
#ifndef ACTSERVE_SERVER_AUTH_TLS_CREDENTIALS_H_
#define ACTSERVE_SERVER_AUTH_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"

namespace actserve::server::auth {

struct TlsFiles {
  std::string cert;       // PEM certificate chain, the server's first
  std::string key;        // PEM private key of the first certificate
  std::string client_ca;  // PEM CA bundle for client certificates; empty: no mTLS
};

// OK if the files can be read, parse as PEM, and the key belongs to the certificate. Otherwise
// INVALID_ARGUMENT (a flag set without its partner, not PEM, key and certificate that do not
// match) or NOT_FOUND / PERMISSION_DENIED (cannot be read), naming the flag and the path.
// Called at start-up (the server refuses to start) and usable before a rotation.
absl::Status CheckTlsFiles(const TlsFiles& files);

// A warning when the first certificate of `files.cert` is outside its validity period now
// ("--tls_cert=PATH: the certificate expired on Dec  1 17:30:10 2026 GMT; clients will refuse
// it"), or "" when it is valid (or cannot be read: CheckTlsFiles reports that). The server still
// starts: a rotation on disk may replace the certificate while it serves.
std::string CertificateValidityWarning(const TlsFiles& files);

// CheckTlsFiles, then credentials that watch the files every `refresh` (at least 1 s: gRPC's
// provider counts whole seconds).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> NewTlsServerCredentials(
    const TlsFiles& files, absl::Duration refresh);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_TLS_CREDENTIALS_H_
