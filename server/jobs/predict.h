// Predict: a network's outputs, and the classes they mean, for rows of features; on core types.
#ifndef ACTSERVE_SERVER_JOBS_PREDICT_H_
#define ACTSERVE_SERVER_JOBS_PREDICT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/train/dataset.h"
#include "kernels/train/spec.h"

namespace actserve::server {

// A network to predict with, and the rows to predict on.
struct PredictInput {
  train::TrainSpec spec;  // inputs, layers, loss and dtype
  std::vector<train::LayerWeights> weights;
  train::Dataset x;
};

struct Prediction {
  int64_t rows = 0, width = 0;
  std::vector<double> outputs;  // rows x width: the output layer (logits for cross-entropy)
  // One class per row for classification losses (softmax: the largest output; sigmoid with one
  // output: whether the logit is positive); empty otherwise.
  std::vector<int64_t> classes;
};

// Evaluates the network on `backend` in inference mode. The input must have been validated
// (the network's shapes and weights, and x's width); errors are train::Predict's.
absl::StatusOr<Prediction> Predict(const PredictInput& input, Backend& backend);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_PREDICT_H_
