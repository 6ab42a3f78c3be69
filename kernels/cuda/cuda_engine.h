// The GPU training engine (see kernels/train/engine.h): a job's data, weights, gradients,
// optimizer moments and diagnostic sums live on the device; cuBLAS computes the matrix products
// (TF32 off: fp32 is fp32), the catalog's CUDA kernels the activations, and train_kernels.h the
// losses, updates and sums with the CPU engine's arithmetic. A step reads one loss value back
// (for the NaN check); everything else stays on the device until a report or the job's end.
//
// Same spec and seed as the CPU engine: the same batches, initial weights and activation noise,
// so the loss curves agree to rounding (summation orders differ). The build decides whether it
// exists: without a CUDA toolkit the factory answers UNAVAILABLE.
#ifndef ACTSERVE_KERNELS_CUDA_CUDA_ENGINE_H_
#define ACTSERVE_KERNELS_CUDA_CUDA_ENGINE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/train/engine.h"
#include "kernels/train/spec.h"

namespace actserve {

// An engine for `spec` (which has passed Validate, and must outlive the engine) on
// `options.device`. UNAVAILABLE without a CUDA build, driver or device; RESOURCE_EXHAUSTED when
// the device's memory does not hold the job (here or from Load).
absl::StatusOr<std::unique_ptr<train::Engine>> NewCudaEngine(
    const train::TrainSpec& spec, const CudaBackendOptions& options = {});

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CUDA_CUDA_ENGINE_H_
