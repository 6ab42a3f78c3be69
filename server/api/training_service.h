// TrainingServiceImpl: actserve.v1.TrainingService on gRPC's callback API, over a JobManager.
// Every call goes through the handler path (handler.h). Requests that may take time
// (submitting, which validates and generates data; predicting) run on the compute pool; the
// rest answer on the gRPC thread. CancelJob answers when the job has stopped (within one step)
// without holding any thread meanwhile. Training itself runs on the JobManager's workers.
// Thread-safe.
#ifndef ACTSERVE_SERVER_API_TRAINING_SERVICE_H_
#define ACTSERVE_SERVER_API_TRAINING_SERVICE_H_

#include "kernels/backend.h"
#include "proto/actserve/v1/training_service.grpc.pb.h"
#include "server/api/convert_training.h"
#include "server/api/handler.h"
#include "server/auth/grpc_auth.h"
#include "server/auth/job_owners.h"
#include "server/jobs/job_manager.h"

namespace actserve::server {

class TrainingServiceImpl final : public v1::TrainingService::CallbackService {
 public:
  // `jobs` and `handler` must outlive the service, and so must the backends: jobs ask for one
  // of them; predictions are computed on the CPU's. `guard` (which must outlive the service)
  // names each call's tenant: a job belongs to the tenant that submitted it, and other tenants
  // (but admins) get NOT_FOUND for it and do not see it in ListJobs.
  TrainingServiceImpl(JobManager& jobs, Handler& handler, const Backends& backends,
                      const TrainingLimits& limits, const auth::CallGuard& guard);

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* context,
                                      const v1::SubmitJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerWriteReactor<v1::WatchJobResponse>* WatchJob(
      grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* DeleteJob(grpc::CallbackServerContext* context,
                                      const v1::DeleteJobRequest* request,
                                      v1::DeleteJobResponse* response) override;
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context,
                                    const v1::PredictRequest* request,
                                    v1::PredictResponse* response) override;
  grpc::ServerUnaryReactor* SubmitSweep(grpc::CallbackServerContext* context,
                                        const v1::SubmitSweepRequest* request,
                                        v1::Sweep* response) override;
  grpc::ServerUnaryReactor* GetSweep(grpc::CallbackServerContext* context,
                                     const v1::GetSweepRequest* request,
                                     v1::Sweep* response) override;

 private:
  // The caller of `method`, or why it has none (admission refuses such calls first).
  absl::StatusOr<auth::Principal> Caller(const grpc::CallbackServerContext& context,
                                         const Method& method) const;
  // OK if `caller` may see the job `id`; otherwise UnknownJob(id).
  absl::Status CheckJob(const absl::StatusOr<auth::Principal>& caller, const std::string& id) const;

  JobManager& jobs_;
  Handler& handler_;
  const Backends backends_;
  const TrainingLimits limits_;
  const auth::CallGuard& guard_;
  auth::JobOwners owners_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_TRAINING_SERVICE_H_
