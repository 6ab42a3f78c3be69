// Backends: the compute backends a server has, and how requests choose among them.
#ifndef ACTSERVE_SERVER_COMPUTE_BACKENDS_H_
#define ACTSERVE_SERVER_COMPUTE_BACKENDS_H_

#include <cstdint>
#include <limits>
#include <string>

#include "kernels/backend.h"

namespace actserve::server {

// What a request asks for.
enum class BackendChoice {
  kAuto,  // the GPU from cuda_min_elements elements when there is one, else the CPU
  kCpu,
  kCuda,
};

struct Backends {
  Backend* cpu = nullptr;        // always there
  Backend* cuda = nullptr;       // null without a CUDA device (or build)
  int cuda_device = 0;           // its ordinal, for training engines
  std::string cuda_unavailable;  // why cuda is null, for error messages
  // BACKEND_UNSPECIFIED computes on the GPU from this many elements (when there is one). By
  // default never: on the one GPU machine measured, copying to and from the device cost more
  // than the CPU's computation at every size (kernels/README.md, "GPU check").
  int64_t cuda_min_elements = std::numeric_limits<int64_t>::max();

  // The backend for `choice` and `elements` input elements; null for kCuda without a GPU.
  Backend* Choose(BackendChoice choice, int64_t elements) const {
    switch (choice) {
      case BackendChoice::kCpu:
        return cpu;
      case BackendChoice::kCuda:
        return cuda;
      case BackendChoice::kAuto:
        break;
    }
    return cuda != nullptr && elements >= cuda_min_elements ? cuda : cpu;
  }
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_COMPUTE_BACKENDS_H_
