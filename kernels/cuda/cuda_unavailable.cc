// The CUDA backend's and engine's factories in a build without the CUDA toolkit: CMake compiles
// this file instead of cuda_backend.cc and cuda_engine.cc.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_engine.h"

namespace actserve {
namespace {

constexpr char kNoCuda[] =
    "this build has no CUDA backend (no CUDA toolkit was found when it was configured)";

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> NewCudaBackend(const CudaBackendOptions&) {
  return absl::UnavailableError(kNoCuda);
}

absl::StatusOr<std::unique_ptr<train::Engine>> NewCudaEngine(const train::TrainSpec&,
                                                             const CudaBackendOptions&) {
  return absl::UnavailableError(kNoCuda);
}

bool CudaCompiledIn() { return false; }

std::string DescribeCudaDevices() { return "none: built without CUDA"; }

}  // namespace actserve
