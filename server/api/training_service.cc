#include "server/api/training_service.h"

#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "server/api/convert.h"
#include "server/api/convert_training.h"
#include "server/api/status.h"

namespace actserve::server {
namespace {

#define ACTSERVE_METHOD(name) \
  Method { "actserve.v1.TrainingService", #name, "/actserve.v1.TrainingService/" #name }
const Method kSubmitJob = ACTSERVE_METHOD(SubmitJob);
const Method kWatchJob = ACTSERVE_METHOD(WatchJob);
const Method kGetJob = ACTSERVE_METHOD(GetJob);
const Method kListJobs = ACTSERVE_METHOD(ListJobs);
const Method kCancelJob = ACTSERVE_METHOD(CancelJob);
const Method kDeleteJob = ACTSERVE_METHOD(DeleteJob);
const Method kPredict = ACTSERVE_METHOD(Predict);
const Method kSubmitSweep = ACTSERVE_METHOD(SubmitSweep);
const Method kGetSweep = ACTSERVE_METHOD(GetSweep);
#undef ACTSERVE_METHOD

// Streams a job's reports, then its end state. Writes one message at a time: the next write
// starts when the previous one is done, or, when the job has nothing new, when the job notifies.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchJobResponse>,
                           public JobListener {
 public:
  WatchReactor(std::shared_ptr<Job> job, int64_t from, Handler::StreamSlot slot)
      : job_(std::move(job)), slot_(std::move(slot)), next_(from) {
    job_->Subscribe(this);
    Pump();
  }

  void OnJobUpdate() override { Pump(); }

  void OnWriteDone(bool ok) override {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      cancelled = cancelled_;
    }
    if (!ok || cancelled) return Close();
    Pump();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      if (writing_) return;  // OnWriteDone closes
    }
    Close();
  }

  void OnDone() override {
    job_->Unsubscribe(this);
    delete this;
  }

 private:
  // Starts the next write if none is in progress and there is something to send.
  void Pump() {
    bool ended = false;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_ || cancelled_) return;
      message_.Clear();
      if (!job_->ReadUpdate(next_, &message_, &ended)) return;
      writing_ = true;
      if (!ended) ++next_;
      if (ended) finished_ = true;
    }
    // Outside the lock: gRPC may run reactions inline.
    if (ended) {
      StartWriteAndFinish(&message_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&message_);
    }
  }

  void Close() {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(ToGrpcStatus(absl::CancelledError("the watch was cancelled")));
  }

  const std::shared_ptr<Job> job_;
  const Handler::StreamSlot slot_;  // counted by the drain until the stream is done
  absl::Mutex mu_;
  int64_t next_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  v1::WatchJobResponse message_;  // owned by the write in progress
};

// A request's size, for admission.
int64_t Bytes(const google::protobuf::Message& request) {
  return static_cast<int64_t>(request.ByteSizeLong());
}

// Moves a successful result into the response.
template <class T>
absl::Status Store(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = std::move(*result);
  return absl::OkStatus();
}

// A submit's request id and deadline (a client without a deadline has an infinite one).
SubmitOptions SubmitOptionsOf(grpc::CallbackServerContext* context, const std::string& request_id) {
  return {.request_id = request_id, .deadline = absl::FromChrono(context->deadline())};
}

}  // namespace

TrainingServiceImpl::TrainingServiceImpl(JobManager& jobs, Handler& handler, Backend& backend,
                                         const TrainingLimits& limits)
    : jobs_(jobs), handler_(handler), backend_(backend), limits_(limits) {}

grpc::ServerUnaryReactor* TrainingServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                         const v1::SubmitJobRequest* request,
                                                         v1::Job* response) {
  return handler_.Unary(
      context, kSubmitJob, Bytes(*request), Placement::kPool, [this, context, request, response] {
        return Store(jobs_.Submit(request->spec(), SubmitOptionsOf(context, request->request_id())),
                     response);
      });
}

grpc::ServerWriteReactor<v1::WatchJobResponse>* TrainingServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  absl::StatusOr<Handler::StreamSlot> slot = handler_.OpenStream(context, kWatchJob, true);
  absl::StatusOr<std::shared_ptr<Job>> job = jobs_.Find(request->id());
  absl::Status bad = slot.ok() ? job.status() : slot.status();
  if (bad.ok() && request->from_report() < 0) {
    bad = absl::InvalidArgumentError(
        absl::StrFormat("from_report: %d is out of range; expected >= 0", request->from_report()));
  }
  if (!bad.ok()) {
    // A reactor that only finishes.
    class Failed final : public grpc::ServerWriteReactor<v1::WatchJobResponse> {
     public:
      explicit Failed(const grpc::Status& s) { Finish(s); }
      void OnDone() override { delete this; }
    };
    return new Failed(ToGrpcStatus(bad));
  }
  return new WatchReactor(*std::move(job), request->from_report(), *std::move(slot));
}

grpc::ServerUnaryReactor* TrainingServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                      const v1::GetJobRequest* request,
                                                      v1::Job* response) {
  return handler_.Unary(context, kGetJob, Bytes(*request), Placement::kInline,
                        [this, request, response]() -> absl::Status {
                          absl::StatusOr<std::shared_ptr<Job>> job = jobs_.Find(request->id());
                          if (!job.ok()) return job.status();
                          *response = (*job)->ToProto(request->include_weights());
                          return absl::OkStatus();
                        });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                        const v1::ListJobsRequest* request,
                                                        v1::ListJobsResponse* response) {
  return handler_.Unary(context, kListJobs, Bytes(*request), Placement::kInline,
                        [this, response]() -> absl::Status {
                          for (v1::Job& job : jobs_.List()) *response->add_jobs() = std::move(job);
                          return absl::OkStatus();
                        });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                         const v1::CancelJobRequest* request,
                                                         v1::Job* response) {
  // Answers once the job has ended: at once for a queued job, within a step for a running one,
  // on the worker's thread; no thread waits meanwhile.
  return handler_.UnaryAsync(context, kCancelJob, Bytes(*request), Placement::kInline,
                             [this, request, response](Handler::Done done) {
                               absl::StatusOr<std::shared_ptr<Job>> job =
                                   jobs_.Cancel(request->id());
                               if (!job.ok()) return done([&] { return job.status(); });
                               auto finish = std::make_shared<Handler::Done>(std::move(done));
                               (*job)->WhenEnded([job = *job, response, finish] {
                                 (*finish)([&] {
                                   *response = job->ToProto(false);
                                   return absl::OkStatus();
                                 });
                               });
                             });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::DeleteJob(grpc::CallbackServerContext* context,
                                                         const v1::DeleteJobRequest* request,
                                                         v1::DeleteJobResponse*) {
  return handler_.Unary(context, kDeleteJob, Bytes(*request), Placement::kInline,
                        [this, request] { return jobs_.Delete(request->id()); });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::Predict(grpc::CallbackServerContext* context,
                                                       const v1::PredictRequest* request,
                                                       v1::PredictResponse* response) {
  return handler_.Unary(
      context, kPredict, Bytes(*request), Placement::kPool,
      [this, request, response]() -> absl::Status {
        train::TrainSpec spec;
        std::vector<train::LayerWeights> weights;
        const bool from_job = request->model_case() == v1::PredictRequest::kJobId;
        if (from_job) {
          absl::Status s = jobs_.TrainedNetwork(request->job_id(), &spec, &weights);
          if (!s.ok()) return s;
        } else if (request->model_case() != v1::PredictRequest::kNetwork) {
          return absl::InvalidArgumentError(
              "model: neither job_id nor network is set; expected one");
        }
        absl::StatusOr<PredictInput> input = ToPredictInput(*request, from_job ? &spec : nullptr,
                                                            from_job ? &weights : nullptr, limits_);
        if (!input.ok()) return input.status();
        absl::StatusOr<std::vector<double>> out =
            train::Predict(input->spec, input->weights, input->x, backend_);
        if (!out.ok()) return out.status();
        FillPredictResponse(*input, *out, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::SubmitSweep(grpc::CallbackServerContext* context,
                                                           const v1::SubmitSweepRequest* request,
                                                           v1::Sweep* response) {
  return handler_.Unary(
      context, kSubmitSweep, Bytes(*request), Placement::kPool, [this, context, request, response] {
        return Store(jobs_.SubmitSweep(*request, SubmitOptionsOf(context, request->request_id())),
                     response);
      });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::GetSweep(grpc::CallbackServerContext* context,
                                                        const v1::GetSweepRequest* request,
                                                        v1::Sweep* response) {
  return handler_.Unary(
      context, kGetSweep, Bytes(*request), Placement::kInline,
      [this, request, response] { return Store(jobs_.GetSweep(request->id()), response); });
}

}  // namespace actserve::server
