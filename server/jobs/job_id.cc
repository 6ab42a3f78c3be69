#include "server/jobs/job_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "kernels/util/untrusted.h"

namespace actserve::server {
namespace {

// 16 bytes from getrandom (blocking only until the kernel's pool is first seeded, at boot). It
// cannot fail on Linux >= 3.17 for so few bytes except by interruption, which is retried; any
// other failure would make ids guessable, so it ends the process rather than degrade.
std::string RandomHex() {
  unsigned char bytes[kIdRandomHexDigits / 2];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::perror("actserve: getrandom");
      std::abort();
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(kIdRandomHexDigits, '0');
  for (size_t i = 0; i < sizeof(bytes); ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return hex;
}

bool IsId(absl::string_view id, absl::string_view prefix) {
  if (id.size() != prefix.size() + kIdRandomHexDigits || id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : id.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string NewJobId() { return absl::StrCat(kJobIdPrefix, RandomHex()); }
std::string NewSweepId() { return absl::StrCat(kSweepIdPrefix, RandomHex()); }

bool IsJobId(absl::string_view id) { return IsId(id, kJobIdPrefix); }
bool IsSweepId(absl::string_view id) { return IsId(id, kSweepIdPrefix); }

absl::Status CheckJobId(absl::string_view id, absl::string_view field) {
  if (IsJobId(id)) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(field, ": no job has the id ", QuoteUntrusted(id),
                                          "; job ids are 'job-' and 32 lowercase hex digits, "
                                          "as SubmitJob returned them"));
}

}  // namespace actserve::server
