#include "kernels/train/engine.h"

#include <algorithm>
#include <cmath>

#include "kernels/util/status_macros.h"

namespace actserve::train {

absl::StatusOr<BatchLoss> Engine::Step(int64_t begin, int64_t rows, double lr,
                                       uint64_t noise_seed) {
  ACTSERVE_RETURN_IF_ERROR(GatherBatch(begin, rows));
  ACTSERVE_RETURN_IF_ERROR(Forward(/*training=*/true, noise_seed));
  ACTSERVE_ASSIGN_OR_RETURN(const BatchLoss loss, BatchLossAndGradient());
  if (!std::isfinite(loss.loss)) return loss;  // the weights stay as they were
  ACTSERVE_RETURN_IF_ERROR(Backward());
  ACTSERVE_RETURN_IF_ERROR(AccumulateDiagnostics());
  BeginUpdate();
  // L2 regularisation applies to the weights only, never to biases or activation parameters.
  for (size_t l = 0; l < LayerCount(); ++l) {
    if (Frozen(l)) continue;  // nor its parameter: Learnable is false then
    ACTSERVE_RETURN_IF_ERROR(Update(l, TensorKind::kWeights, lr, l2()));
    ACTSERVE_RETURN_IF_ERROR(Update(l, TensorKind::kBias, lr, 0));
    if (Learnable(l)) ACTSERVE_RETURN_IF_ERROR(Update(l, TensorKind::kParam, lr, 0));
  }
  return loss;
}

absl::StatusOr<BatchLoss> Engine::Evaluate(Split split, const std::function<bool()>& stop) {
  ACTSERVE_RETURN_IF_ERROR(ClearLossSum());
  const int64_t rows = Rows(split);
  for (int64_t begin = 0; begin < rows; begin += kEvalRows) {
    if (stop && stop()) return absl::CancelledError("the job was cancelled");
    const int64_t n = std::min(kEvalRows, rows - begin);
    ACTSERVE_RETURN_IF_ERROR(SliceBatch(split, begin, n));
    ACTSERVE_RETURN_IF_ERROR(Forward(/*training=*/false, 0));
    ACTSERVE_RETURN_IF_ERROR(AddToLossSum());
  }
  return LossSum(rows);
}

}  // namespace actserve::train
