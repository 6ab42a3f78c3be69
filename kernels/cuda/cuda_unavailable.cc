// The CUDA backend's factory in a build without the CUDA toolkit: CMake compiles this file
// instead of cuda_backend.cc.
#include "kernels/cuda/cuda_backend.h"

namespace actserve {

absl::StatusOr<std::unique_ptr<Backend>> NewCudaBackend(const CudaBackendOptions&) {
  return absl::UnavailableError(
      "this build has no CUDA backend (no CUDA toolkit was found when it was configured)");
}

bool CudaCompiledIn() { return false; }

std::string DescribeCudaDevices() { return "none: built without CUDA"; }

}  // namespace actserve
