// TokenTable: the parsed tokens file (--tokens_file), mapping token digests to principals.
//
// Format, one token per line:
//   sha256:<64 hex digits: SHA-256 of the token> <tenant> <role>[,<role>...]
// or, for clients that present a certificate under mTLS (--tls_client_ca) instead of a token:
//   cert:<the certificate's subject common name> <tenant> <role>[,<role>...]
// Fields are separated by spaces or tabs; blank lines and lines starting with `#` (after
// optional white space) are ignored. Tenants are 1 to 64 characters of [A-Za-z0-9._-]; roles are
// compute, train and admin. A digest may appear once. Tokens themselves are never stored.
#ifndef ACTSERVE_SERVER_AUTH_TOKEN_TABLE_H_
#define ACTSERVE_SERVER_AUTH_TOKEN_TABLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/principal.h"
#include "server/auth/token_digest.h"

namespace actserve::server::auth {

// Immutable once built; safe to read from any thread.
class TokenTable {
 public:
  // Parses the text of a tokens file. INVALID_ARGUMENT listing every malformed line as
  // "line N: what is wrong" (the first 10, then how many more). An empty table is valid.
  static absl::StatusOr<TokenTable> Parse(absl::string_view text);
  // Reads and parses `path`. NOT_FOUND / PERMISSION_DENIED when it cannot be read (naming the
  // path), INVALID_ARGUMENT "tokens file PATH: line N: ..." when malformed.
  static absl::StatusOr<TokenTable> Load(const std::string& path);

  // The principal whose digest matches SHA-256(token), or nullopt. Every entry is compared, in
  // constant time each, so the time taken does not depend on which entry matched.
  std::optional<Principal> Find(absl::string_view token) const;
  // The principal of a `cert:` line naming `common_name` (exactly), or nullopt. The name is not
  // a secret (the TLS handshake proved the certificate): a plain comparison.
  std::optional<Principal> FindCertificate(absl::string_view common_name) const;

  // Token and certificate lines.
  int size() const { return static_cast<int>(entries_.size() + certificates_.size()); }

 private:
  struct Entry {
    TokenDigest digest;
    Principal principal;
  };
  struct CertificateEntry {
    std::string common_name;
    Principal principal;
  };
  std::vector<Entry> entries_;
  std::vector<CertificateEntry> certificates_;
};

// True if `tenant` is 1 to 64 characters of [A-Za-z0-9._-].
bool IsValidTenant(absl::string_view tenant);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_TOKEN_TABLE_H_
