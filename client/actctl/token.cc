// actctl token new --tenant=T --roles=R: a fresh random token and its tokens-file line. The
// line is checked by the server's own parser (server/auth/token_table.h) before it is printed.
#include <openssl/rand.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "server/auth/principal.h"
#include "server/auth/token_digest.h"
#include "server/auth/token_table.h"

ABSL_FLAG(std::string, tenant, "", "token new: the tenant the token's calls and jobs belong to.");
ABSL_FLAG(std::string, roles, "compute",
          "token new: roles, comma-separated: compute, train, admin.");

namespace actserve::client {
namespace {

namespace auth = ::actserve::server::auth;

// 32 random bytes (256 bits) from OpenSSL's CSPRNG, base64url without padding, behind a prefix
// that says what the string is (as GitHub's ghp_ does): 47 characters of RFC 6750's b64token.
absl::StatusOr<std::string> NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return absl::InternalError("the system's random number generator failed");
  }
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes),
                            &encoded);
  return absl::StrCat("act_", encoded);
}

}  // namespace

int RunToken(const std::vector<std::string>& args) {
  if (args[0] != "new") return Usage("usage: actctl token new --tenant=T --roles=R");
  const std::string tenant = absl::GetFlag(FLAGS_tenant);
  if (tenant.empty()) return Usage("--tenant is required");
  auth::RoleSet roles;
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_roles), ',')) {
    absl::StatusOr<auth::Role> role = auth::ParseRole(name);
    if (!role.ok()) return Usage(absl::StrCat("--roles: ", role.status().message()));
    roles.Add(*role);
  }
  absl::StatusOr<std::string> token = NewToken();
  if (!token.ok()) return Fail(token.status());
  const std::string line = absl::StrCat("sha256:", auth::DigestToHex(auth::DigestToken(*token)),
                                        " ", tenant, " ", roles.ToString());
  // The server's parser has the last word on the line (the tenant's characters, above all).
  absl::StatusOr<auth::TokenTable> table = auth::TokenTable::Parse(line);
  if (!table.ok()) return Usage(std::string(table.status().message()));
  if (!table->Find(*token).has_value()) return Fail(absl::InternalError("the line does not match"));
  std::printf("%s\n%s\n", token->c_str(), line.c_str());
  std::fprintf(stderr,
               "actctl: line 1 is the token: give it to the client (in a file for --token_file, "
               "or in ACTSERVE_TOKEN); it is not stored anywhere.\n"
               "actctl: line 2 goes into the server's --tokens_file (reloaded while serving).\n");
  return 0;
}

}  // namespace actserve::client
