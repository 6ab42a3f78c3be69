#include "server/auth/token_table.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace actserve::server::auth {
namespace {

constexpr absl::string_view kDigestPrefix = "sha256:";
constexpr int kMaxReportedErrors = 10;

// One line's principal and digest, or what is wrong with it.
absl::StatusOr<std::pair<TokenDigest, Principal>> ParseLine(absl::string_view line) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  if (fields.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected 3 fields \"sha256:<hex> <tenant> <role>[,<role>...]\", found ", fields.size()));
  }
  if (!absl::StartsWith(fields[0], kDigestPrefix)) {
    return absl::InvalidArgumentError(
        "the first field must be sha256:<hex digest of the token> (never the token itself)");
  }
  absl::StatusOr<TokenDigest> digest = DigestFromHex(fields[0].substr(kDigestPrefix.size()));
  if (!digest.ok()) return digest.status();
  if (!IsValidTenant(fields[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tenant \"", fields[1], "\" must be 1 to 64 characters of letters, digits, '.', '_', '-'"));
  }
  Principal principal{.tenant = std::string(fields[1])};
  for (absl::string_view name : absl::StrSplit(fields[2], ',')) {
    absl::StatusOr<Role> role = ParseRole(name);
    if (!role.ok()) return role.status();
    principal.roles.Add(*role);
  }
  return std::make_pair(*digest, std::move(principal));
}

}  // namespace

bool IsValidTenant(absl::string_view tenant) {
  if (tenant.empty() || tenant.size() > 64) return false;
  for (char c : tenant) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text) {
  TokenTable table;
  std::vector<std::string> errors;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    absl::StatusOr<std::pair<TokenDigest, Principal>> entry = ParseLine(line);
    if (!entry.ok()) {
      errors.push_back(absl::StrCat("line ", line_number, ": ", entry.status().message()));
      continue;
    }
    for (const Entry& seen : table.entries_) {
      if (DigestsEqual(seen.digest, entry->first)) {
        errors.push_back(absl::StrCat("line ", line_number, ": this digest appears twice"));
        break;
      }
    }
    table.entries_.push_back({entry->first, std::move(entry->second)});
  }
  if (!errors.empty()) {
    const int more = static_cast<int>(errors.size()) - kMaxReportedErrors;
    if (more > 0) {
      errors.resize(kMaxReportedErrors);
      errors.push_back(absl::StrCat("and ", more, " more malformed lines"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }
  return table;
}

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot read tokens file ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return absl::FailedPreconditionError(absl::StrCat("cannot read tokens file ", path));
  absl::StatusOr<TokenTable> table = Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens file ", path, ": ", table.status().message()));
  }
  return table;
}

std::optional<Principal> TokenTable::Find(absl::string_view token) const {
  const TokenDigest digest = DigestToken(token);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // No early exit: the loop's time does not tell which entry matched.
    if (DigestsEqual(entry.digest, digest)) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return found->principal;
}

}  // namespace actserve::server::auth
