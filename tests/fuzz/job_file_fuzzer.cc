// libFuzzer target: a job file as actctl reads it (text format, or JSON when it starts with '{'),
// then, when it parses, the server's conversion and validation of the job it describes (with
// small limits, so that generated data stays bounded). Any input must end in a value or an
// error status: never a crash, a sanitizer report, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "client/lib/training_client.h"
#include "kernels/cpu/cpu_backend.h"
#include "server/api/convert_training.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace actserve;  // NOLINT
  static std::unique_ptr<Backend> cpu = NewCpuBackend({.threads = 1});
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool json = absl::StartsWith(absl::StripLeadingAsciiWhitespace(text), "{");
  absl::StatusOr<v1::JobSpec> spec = client::ParseJobSpec(text, json);
  if (!spec.ok()) return 0;
  server::TrainingLimits limits;
  limits.core.max_parameters = 1 << 14;
  limits.core.max_data_elements = 1 << 14;
  limits.core.max_total_steps = 1 << 10;
  limits.max_tensor_elements = 1 << 14;
  (void)server::ToJobInput(*spec, limits, server::Backends{.cpu = cpu.get()});
  return 0;
}
