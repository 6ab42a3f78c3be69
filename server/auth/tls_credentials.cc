#include "server/auth/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace actserve::server::auth {
namespace {

// The contents of `path`, given with `flag`; NOT_FOUND / PERMISSION_DENIED naming both.
absl::StatusOr<std::string> ReadFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message =
        absl::StrCat(flag, "=", path, " cannot be read: ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Cert = std::unique_ptr<X509, X509Deleter>;
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM text, or INVALID_ARGUMENT.
absl::StatusOr<Cert> FirstCertificate(absl::string_view flag, const std::string& path,
                                      const std::string& pem) {
  Bio bio = MemoryBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "=", path, " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return cert;
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: pass both (the certificate chain and its key)");
  }
  if (files.cert.empty() && !files.client_ca.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca (mTLS) needs TLS: pass --tls_cert and --tls_key too");
  }
  if (files.cert.empty()) return absl::OkStatus();

  absl::StatusOr<std::string> cert_pem = ReadFile("--tls_cert", files.cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile("--tls_key", files.key);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<Cert> cert = FirstCertificate("--tls_cert", files.cert, *cert_pem);
  if (!cert.ok()) return cert.status();
  Bio key_bio = MemoryBio(*key_pem);
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key=", files.key,
                     " holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)"));
  }
  const bool match = X509_check_private_key(cert->get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key=", files.key, " is not the key of the certificate in --tls_cert=", files.cert));
  }
  if (!files.client_ca.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadFile("--tls_client_ca", files.client_ca);
    if (!ca_pem.ok()) return ca_pem.status();
    absl::StatusOr<Cert> ca = FirstCertificate("--tls_client_ca", files.client_ca, *ca_pem);
    if (!ca.ok()) return ca.status();
  }
  return absl::OkStatus();
}

std::string CertificateValidityWarning(const TlsFiles& files) {
  if (files.cert.empty()) return "";
  absl::StatusOr<std::string> pem = ReadFile("--tls_cert", files.cert);
  if (!pem.ok()) return "";
  absl::StatusOr<Cert> cert = FirstCertificate("--tls_cert", files.cert, *pem);
  if (!cert.ok()) return "";
  // The date as OpenSSL prints it ("Dec  1 17:30:10 2026 GMT").
  auto date = [](const ASN1_TIME* t) {
    Bio out(BIO_new(BIO_s_mem()));
    ASN1_TIME_print(out.get(), t);
    char* data = nullptr;
    const long n = BIO_get_mem_data(out.get(), &data);
    return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
  };
  const ASN1_TIME* not_after = X509_get0_notAfter(cert->get());
  const ASN1_TIME* not_before = X509_get0_notBefore(cert->get());
  if (X509_cmp_current_time(not_after) < 0) {
    return absl::StrCat("--tls_cert=", files.cert, ": the certificate expired on ", date(not_after),
                        "; clients will refuse it until it is replaced");
  }
  if (X509_cmp_current_time(not_before) > 0) {
    return absl::StrCat("--tls_cert=", files.cert, ": the certificate is not valid before ",
                        date(not_before), "; clients will refuse it until then");
  }
  return "";
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> NewTlsServerCredentials(
    const TlsFiles& files, absl::Duration refresh) {
  if (files.cert.empty()) {
    return absl::InvalidArgumentError("TLS needs --tls_cert and --tls_key");
  }
  if (absl::Status checked = CheckTlsFiles(files); !checked.ok()) return checked;
  const unsigned seconds =
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(refresh)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key, files.cert, files.client_ca, seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace actserve::server::auth
