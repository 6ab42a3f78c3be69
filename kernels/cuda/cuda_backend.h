// The CUDA backend: the whole catalog on an NVIDIA GPU, behind the same interface as the CPU
// backend (kernels/backend.h), from the same definitions (cuda_kernels.cu).
//
// Calls take host buffers: each call copies its inputs to the device, computes on the calling
// thread's default stream, and copies the results back before returning. Thread-safe. The build
// decides whether this backend exists: without a CUDA toolkit, cuda_unavailable.cc provides the
// factory and it always answers UNAVAILABLE.
#ifndef ACTSERVE_KERNELS_CUDA_CUDA_BACKEND_H_
#define ACTSERVE_KERNELS_CUDA_CUDA_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kernels/backend.h"

namespace actserve {

struct CudaBackendOptions {
  int device = 0;  // CUDA device ordinal
};

// A backend on `options.device`. UNAVAILABLE, saying why, when this build has no CUDA backend,
// when there is no driver or no device (the server then serves on the CPU alone).
absl::StatusOr<std::unique_ptr<Backend>> NewCudaBackend(const CudaBackendOptions& options = {});

// Whether this build compiled the CUDA backend in.
bool CudaCompiledIn();

// The devices this process can see, for logs and metrics: e.g. "1 device: NVIDIA H100 80GB HBM3
// (sm_90, 79 GiB)", or why there are none.
std::string DescribeCudaDevices();

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CUDA_CUDA_BACKEND_H_
