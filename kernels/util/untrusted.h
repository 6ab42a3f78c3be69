// The one rule for strings that clients send: how long an identifier may be, and how an error
// message quotes one (a short, escaped prefix, so that a huge or binary value cannot blow up a
// status message past what a client accepts, nor be echoed back in full).
#ifndef ACTSERVE_KERNELS_UTIL_UNTRUSTED_H_
#define ACTSERVE_KERNELS_UTIL_UNTRUSTED_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace actserve {

// Longest accepted values, in bytes; longer ones are INVALID_ARGUMENT (CheckLength).
inline constexpr size_t kMaxJobNameBytes = 256;        // a job's or sweep's display name
inline constexpr size_t kMaxIdBytes = 64;              // job, sweep and client request ids
inline constexpr size_t kMaxActivationNameBytes = 64;  // activation names
inline constexpr size_t kMaxParameterNameBytes = 64;   // activation parameter names

// At most this many bytes of an untrusted value appear in a message.
inline constexpr size_t kQuotedPrefixBytes = 40;

// The value in single quotes, C-escaped (quotes, backslashes, control and non-ASCII bytes as
// \xNN), cut to its first kQuotedPrefixBytes bytes with "..." and its length when longer:
// 'gelu', 'job-\x00' or 'aaaa...aaaa'... (1048576 bytes). The result is printable ASCII.
std::string QuoteUntrusted(absl::string_view value);

// OK when `value` has at most `max_bytes` bytes; otherwise INVALID_ARGUMENT naming `field`:
// "name: 'aaa...'... (1048576 bytes) is longer than the limit of 256 bytes".
absl::Status CheckLength(absl::string_view field, absl::string_view value, size_t max_bytes);

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_UTIL_UNTRUSTED_H_
