#include "kernels/util/untrusted.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace actserve {

std::string QuoteUntrusted(absl::string_view value) {
  if (value.size() <= kQuotedPrefixBytes) {
    return absl::StrCat("'", absl::CHexEscape(value), "'");
  }
  return absl::StrFormat("'%s'... (%d bytes)",
                         absl::CHexEscape(value.substr(0, kQuotedPrefixBytes)), value.size());
}

absl::Status CheckLength(absl::string_view field, absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return absl::OkStatus();
  std::string quoted = QuoteUntrusted(value);
  // QuoteUntrusted gives the length of long values already.
  if (value.size() <= kQuotedPrefixBytes) absl::StrAppend(&quoted, " (", value.size(), " bytes)");
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %s is longer than the limit of %d bytes", field, quoted, max_bytes));
}

}  // namespace actserve
