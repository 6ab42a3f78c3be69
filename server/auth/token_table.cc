#include "server/auth/token_table.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
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

constexpr absl::string_view kCertificatePrefix = "cert:";

// One line: a token's digest or a certificate's common name (`credential`), and its principal.
struct Line {
  std::optional<TokenDigest> digest;  // a sha256: line
  std::string common_name;            // a cert: line
  Principal principal;
};

// One line's entry, or what is wrong with it.
absl::StatusOr<Line> ParseLine(absl::string_view line) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  if (fields.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected 3 fields \"sha256:<hex> <tenant> <role>[,<role>...]\" (or cert:<common name> "
        "first), found ",
        fields.size()));
  }
  Line out;
  if (absl::StartsWith(fields[0], kDigestPrefix)) {
    absl::StatusOr<TokenDigest> digest = DigestFromHex(fields[0].substr(kDigestPrefix.size()));
    if (!digest.ok()) return digest.status();
    out.digest = *digest;
  } else if (absl::StartsWith(fields[0], kCertificatePrefix)) {
    out.common_name = std::string(fields[0].substr(kCertificatePrefix.size()));
    if (out.common_name.empty()) {
      return absl::InvalidArgumentError("cert: must be followed by the certificate's common name");
    }
  } else {
    return absl::InvalidArgumentError(
        "the first field must be sha256:<hex digest of the token> (never the token itself) or "
        "cert:<common name of a client certificate>");
  }
  if (!IsValidTenant(fields[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tenant \"", fields[1], "\" must be 1 to 64 characters of letters, digits, '.', '_', '-'"));
  }
  out.principal.tenant = std::string(fields[1]);
  for (absl::string_view name : absl::StrSplit(fields[2], ',')) {
    absl::StatusOr<Role> role = ParseRole(name);
    if (!role.ok()) return role.status();
    out.principal.roles.Add(*role);
  }
  return out;
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
    absl::StatusOr<Line> entry = ParseLine(line);
    if (!entry.ok()) {
      errors.push_back(absl::StrCat("line ", line_number, ": ", entry.status().message()));
      continue;
    }
    if (!entry->digest.has_value()) {
      for (const CertificateEntry& seen : table.certificates_) {
        if (seen.common_name == entry->common_name) {
          errors.push_back(
              absl::StrCat("line ", line_number, ": this certificate name appears twice"));
          break;
        }
      }
      table.certificates_.push_back({std::move(entry->common_name), std::move(entry->principal)});
      continue;
    }
    for (const Entry& seen : table.entries_) {
      if (DigestsEqual(seen.digest, *entry->digest)) {
        errors.push_back(absl::StrCat("line ", line_number, ": this digest appears twice"));
        break;
      }
    }
    table.entries_.push_back({*entry->digest, std::move(entry->principal)});
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

std::optional<Principal> TokenTable::FindCertificate(absl::string_view common_name) const {
  for (const CertificateEntry& entry : certificates_) {
    if (entry.common_name == common_name) return entry.principal;
  }
  return std::nullopt;
}

}  // namespace actserve::server::auth
