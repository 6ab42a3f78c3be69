// libFuzzer target: the requests of every ActivationService rpc as the server receives them
// (the first byte picks Forward, Backward or Evaluate; the rest is the serialized message),
// through conversion, validation and, for what passes, the computation on the CPU backend.
// Any input must end in a response or an error status: never a crash, a sanitizer report, a
// hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/cpu_backend.h"
#include "server/api/convert.h"

namespace {

using namespace actserve;          // NOLINT
using namespace actserve::server;  // NOLINT

constexpr int64_t kMaxElements = int64_t{1} << 16;  // keeps one input fast

Backends& TheBackends() {
  static std::unique_ptr<Backend> cpu = NewCpuBackend({.threads = 1});
  static Backends backends{.cpu = cpu.get()};
  return backends;
}

template <class Request, class Response>
absl::Status Compute(const Request& request, Response* response) {
  absl::StatusOr<Computation> c = ToComputation(request, TheBackends(), kMaxElements);
  if (!c.ok()) return c.status();
  return Run(*c, request, response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const int body_size = static_cast<int>(size - 1);
  switch (data[0] % 3) {
    case 0: {
      v1::ForwardRequest request;
      v1::ForwardResponse response;
      if (request.ParseFromArray(body, body_size)) (void)Compute(request, &response);
      break;
    }
    case 1: {
      v1::BackwardRequest request;
      v1::BackwardResponse response;
      if (request.ParseFromArray(body, body_size)) (void)Compute(request, &response);
      break;
    }
    case 2: {
      v1::EvaluateRequest request;
      v1::EvaluateResponse response;
      if (request.ParseFromArray(body, body_size)) {
        AnswerEvaluate(request, &response,
                       [](const auto& req, auto* resp) { return Compute(req, resp); });
      }
      break;
    }
  }
  return 0;
}
