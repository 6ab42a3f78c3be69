#include "server/jobs/predict.h"

#include <algorithm>

#include "kernels/train/trainer.h"
#include "kernels/util/status_macros.h"

namespace actserve::server {

absl::StatusOr<Prediction> Predict(const PredictInput& input, Backend& backend) {
  Prediction out;
  ACTSERVE_ASSIGN_OR_RETURN(out.outputs,
                            train::Predict(input.spec, input.weights, input.x, backend));
  out.rows = input.x.rows;
  out.width = out.rows == 0 ? 0 : static_cast<int64_t>(out.outputs.size()) / out.rows;
  if (input.spec.loss == train::Loss::kSoftmaxCrossEntropy) {
    for (int64_t r = 0; r < out.rows; ++r) {
      const double* row = out.outputs.data() + r * out.width;
      out.classes.push_back(std::max_element(row, row + out.width) - row);
    }
  } else if (input.spec.loss == train::Loss::kSigmoidCrossEntropy && out.width == 1) {
    for (int64_t r = 0; r < out.rows; ++r) out.classes.push_back(out.outputs[r] > 0 ? 1 : 0);
  }
  return out;
}

}  // namespace actserve::server
