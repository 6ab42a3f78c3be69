// libFuzzer target: a job file as actctl reads it (text format, or JSON when it starts with '{'),
// then, when it parses, the server's conversion and validation of the job it describes. Any
// input must end in a value or an error status: never a crash, a sanitizer report, a hang or
// unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "client/training_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool json = absl::StartsWith(absl::StripLeadingAsciiWhitespace(text), "{");
  absl::StatusOr<actserve::v1::JobSpec> spec = actserve::client::ParseJobSpec(text, json);
  if (!spec.ok()) return 0;
  return 0;
}
