// The CPU training engine: Network<T> (Eigen for the matrix products, a catalog Backend for the
// activations), Optimizer<T>, and the diagnostics summed on the host. See engine.h.
#ifndef ACTSERVE_KERNELS_TRAIN_CPU_ENGINE_H_
#define ACTSERVE_KERNELS_TRAIN_CPU_ENGINE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/train/engine.h"
#include "kernels/train/spec.h"

namespace actserve::train {

// An engine for `spec` (which has passed Validate) in its dtype. `spec` and `backend` (which
// evaluates the activations) must outlive the engine; its thread count decides how many cores a
// step uses.
absl::StatusOr<std::unique_ptr<Engine>> NewCpuEngine(const TrainSpec& spec, Backend& backend);

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_CPU_ENGINE_H_
