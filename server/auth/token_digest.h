// SHA-256 digests of bearer tokens, and their comparison in constant time. The server keeps only
// digests: a leaked tokens file or memory dump does not reveal a usable token.
#ifndef ACTSERVE_SERVER_AUTH_TOKEN_DIGEST_H_
#define ACTSERVE_SERVER_AUTH_TOKEN_DIGEST_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace actserve::server::auth {

using TokenDigest = std::array<uint8_t, 32>;

// SHA-256 of `token` (OpenSSL's libcrypto).
TokenDigest DigestToken(absl::string_view token);
// 64 lower-case hex digits.
std::string DigestToHex(const TokenDigest& digest);
// The digest written as 64 hex digits (either case); INVALID_ARGUMENT otherwise.
absl::StatusOr<TokenDigest> DigestFromHex(absl::string_view hex);
// Equality that takes the same time whatever the contents (CRYPTO_memcmp).
bool DigestsEqual(const TokenDigest& a, const TokenDigest& b);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_TOKEN_DIGEST_H_
