// Backends: the compute backends a server has, and how requests choose among them.
#ifndef ACTSERVE_SERVER_BACKENDS_H_
#define ACTSERVE_SERVER_BACKENDS_H_

#include <cstdint>
#include <string>

#include "kernels/backend.h"

namespace actserve::server {

struct Backends {
  Backend* cpu = nullptr;        // always there
  Backend* cuda = nullptr;       // null without a CUDA device (or build)
  int cuda_device = 0;           // its ordinal, for training engines
  std::string cuda_unavailable;  // why cuda is null, for error messages
  // BACKEND_UNSPECIFIED computes on the GPU from this many elements (when there is one): below,
  // copying to and from the device costs more than the CPU's computation.
  int64_t cuda_min_elements = int64_t{1} << 20;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_BACKENDS_H_
