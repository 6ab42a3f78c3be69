// TrainingService's conversion module, the edge where the training protobufs meet the core:
// job descriptions, data and networks from their messages into core types (kernels/train and
// server/jobs), and jobs, sweeps, progress, results, weights and predictions back. Behind it,
// the job manager works on core types only.
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
#include "server/jobs/job.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/predict.h"

namespace actserve::server {

// What the server allows one job.
struct TrainingLimits {
  train::Limits core;
  int64_t max_tensor_elements = int64_t{64} << 20;  // one tensor of the request
};

// Converts and validates a job description: every check of train::Validate, plus the
// protobuf-level ones (enum values, tensor shapes and dtypes, the data source). INVALID_ARGUMENT
// naming the field, RESOURCE_EXHAUSTED beyond `limits`, UNAVAILABLE for a backend the server
// does not have.
// BACKEND_CUDA trains on the GPU and is UNAVAILABLE without one; the other values train on the CPU.
absl::StatusOr<JobInput> ToJobInput(const v1::JobSpec& spec, const TrainingLimits& limits,
                                    const Backends& backends);
// The input of a stored job again, from its JobRequest::recipe (after a restart).
absl::StatusOr<JobInput> RebuildJobInput(const std::string& recipe, const TrainingLimits& limits,
                                         const Backends& backends);
// An ended job's network (inputs, layers, loss, dtype) from its JobRequest::description and its
// input width, for GetJob's weights and Predict after a restart.
absl::StatusOr<train::TrainSpec> RebuildNetwork(const std::string& description, int64_t inputs);
// ToJobInput, with the job's name and the description a Job echoes (without inline data).
absl::StatusOr<JobRequest> ToJobRequest(const v1::JobSpec& spec, const TrainingLimits& limits,
                                        const Backends& backends);
// One job per activation of the sweep (errors quote the activation: "activations[2] ('relu'):
// ..."), and the description a Sweep echoes. INVALID_ARGUMENT for fewer than 1 or more than 64
// activations, or a network without a hidden layer.
absl::StatusOr<std::vector<JobRequest>> ToSweepRequests(const v1::SubmitSweepRequest& request,
                                                        const TrainingLimits& limits,
                                                        const Backends& backends);
std::string SweepDescription(const v1::SubmitSweepRequest& request);
// The most bytes generating a job's data may take (its values in double, and a copy while a
// validation split is made), charged before the data exists; inline data is in the request,
// charged with it.
int64_t GenerationBytes(const v1::JobSpec& spec);

// Checks `features` (field "features": [rows, inputs]) and, for a network given in the request,
// the network ("network.layers[i]", "network.weights[i]"). `job_spec`/`job_weights` are a job's,
// when the request names one.
absl::StatusOr<PredictInput> ToPredictInput(const v1::PredictRequest& request,
                                            const TrainedNetwork* job,
                                            const TrainingLimits& limits);
// Fills the response from the prediction, in the input's dtype.
void FillPredictResponse(const PredictInput& input, const Prediction& prediction,
                         v1::PredictResponse* response);

void ToProto(const train::Progress& progress, v1::Progress* out);
void ToProto(const train::TrainResult& result, v1::Result* out);
// Weights in `dtype`, shaped per the spec's layers.
void ToProto(const train::TrainSpec& spec, const std::vector<train::LayerWeights>& weights,
             google::protobuf::RepeatedPtrField<v1::LayerWeights>* out);

// The job description as a Job echoes it: without inline data.
v1::JobSpec WithoutInlineData(const v1::JobSpec& spec);

// Jobs and sweeps as the API shows them.
void ToProto(const JobView& job, v1::Job* out);
void ToProto(const SweepView& sweep, v1::Sweep* out);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_CONVERT_TRAINING_H_
