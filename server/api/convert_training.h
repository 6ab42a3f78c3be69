// The training half of the conversion module (see convert.h): job descriptions, data and
// networks from their protobuf messages into kernels/train types, and progress, results and
// weights back. The only place where the training protobufs meet the core.
#ifndef ACTSERVE_SERVER_API_CONVERT_TRAINING_H_
#define ACTSERVE_SERVER_API_CONVERT_TRAINING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kernels/train/dataset.h"
#include "kernels/train/spec.h"
#include "kernels/train/trainer.h"
#include "proto/actserve/v1/training_service.pb.h"
#include "server/compute/backends.h"

namespace actserve::server {

// What the server allows one job.
struct TrainingLimits {
  train::Limits core;
  int64_t max_tensor_elements = int64_t{64} << 20;  // one tensor of the request
};

// A job ready to run: the core's description, its data, where it runs, and its wall-time limit.
struct JobInput {
  train::TrainSpec spec;
  train::Dataset train, validation;
  bool cuda = false;  // on the GPU (BACKEND_CUDA); else on the CPU
  absl::Duration max_wall_time;
};

// Converts and validates a job description: every check of train::Validate, plus the
// protobuf-level ones (enum values, tensor shapes and dtypes, the data source). INVALID_ARGUMENT
// naming the field, RESOURCE_EXHAUSTED beyond `limits`, UNAVAILABLE for a backend the server
// does not have.
// BACKEND_CUDA trains on the GPU and is UNAVAILABLE without one; the other values train on the CPU.
absl::StatusOr<JobInput> ToJobInput(const v1::JobSpec& spec, const TrainingLimits& limits,
                                    const Backends& backends);

// A network to predict with, and the rows to predict on.
struct PredictInput {
  train::TrainSpec spec;  // inputs, layers, loss and dtype
  std::vector<train::LayerWeights> weights;
  train::Dataset x;
};

// Checks `features` (field "features": [rows, inputs]) and, for a network given in the request,
// the network ("network.layers[i]", "network.weights[i]"). `job_spec`/`job_weights` are a job's,
// when the request names one.
absl::StatusOr<PredictInput> ToPredictInput(const v1::PredictRequest& request,
                                            const train::TrainSpec* job_spec,
                                            const std::vector<train::LayerWeights>* job_weights,
                                            const TrainingLimits& limits);
// Fills the response from Predict's outputs (rows x outputs values).
void FillPredictResponse(const PredictInput& input, const std::vector<double>& outputs,
                         v1::PredictResponse* response);

void ToProto(const train::Progress& progress, v1::Progress* out);
void ToProto(const train::TrainResult& result, v1::Result* out);
// Weights in `dtype`, shaped per the spec's layers.
void ToProto(const train::TrainSpec& spec, const std::vector<train::LayerWeights>& weights,
             google::protobuf::RepeatedPtrField<v1::LayerWeights>* out);

// The job description as a Job echoes it: without inline data.
v1::JobSpec WithoutInlineData(const v1::JobSpec& spec);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_CONVERT_TRAINING_H_
