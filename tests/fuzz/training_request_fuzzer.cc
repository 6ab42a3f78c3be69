// libFuzzer target: the requests of the TrainingService rpcs that carry a job or a network (the
// first byte picks SubmitJob, SubmitSweep's spec per activation, or Predict; the rest is the
// serialized message), through conversion and validation (train::Validate), and for Predict
// the prediction itself. Limits are small so that generated data stays bounded.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/train/trainer.h"
#include "server/api/convert_training.h"
#include "server/jobs/predict.h"

namespace {

using namespace actserve;          // NOLINT
using namespace actserve::server;  // NOLINT

TrainingLimits SmallLimits() {
  TrainingLimits limits;
  limits.core.max_parameters = 1 << 14;
  limits.core.max_data_elements = 1 << 14;
  limits.core.max_total_steps = 1 << 10;
  limits.max_tensor_elements = 1 << 14;
  return limits;
}

Backend& Cpu() {
  static std::unique_ptr<Backend> cpu = NewCpuBackend({.threads = 1});
  return *cpu;
}

void Estimate(const JobInput& input) {
  (void)train::EstimateJobBytes(input.spec, input.train, input.validation);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const int body_size = static_cast<int>(size - 1);
  switch (data[0] % 3) {
    case 0: {
      v1::SubmitJobRequest request;
      if (!request.ParseFromArray(body, body_size)) break;
      absl::StatusOr<JobInput> input =
          ToJobInput(request.spec(), SmallLimits(), Backends{.cpu = &Cpu()});
      if (input.ok()) Estimate(*input);
      break;
    }
    case 1: {
      v1::SubmitSweepRequest request;
      if (!request.ParseFromArray(body, body_size)) break;
      absl::StatusOr<std::vector<JobRequest>> jobs =
          ToSweepRequests(request, SmallLimits(), Backends{.cpu = &Cpu()});
      if (!jobs.ok()) break;
      for (const JobRequest& job : *jobs) Estimate(job.input);
      (void)SweepDescription(request);
      break;
    }
    case 2: {
      v1::PredictRequest request;
      if (!request.ParseFromArray(body, body_size)) break;
      absl::StatusOr<PredictInput> input = ToPredictInput(request, nullptr, SmallLimits());
      if (!input.ok()) break;
      absl::StatusOr<Prediction> out = Predict(*input, Cpu());
      if (out.ok()) {
        v1::PredictResponse response;
        FillPredictResponse(*input, *out, &response);
      }
      break;
    }
  }
  return 0;
}
