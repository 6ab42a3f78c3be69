#include "server/api/training_service.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "kernels/util/status_macros.h"
#include "kernels/util/untrusted.h"
#include "server/api/convert.h"
#include "server/api/convert_training.h"
#include "server/api/status.h"
#include "server/jobs/predict.h"

namespace actserve::server {
namespace {

#define ACTSERVE_METHOD(name) ACTSERVE_RPC_METHOD("actserve.v1.TrainingService", name)
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
      train::Progress report;
      JobView view;
      switch (job_->ReadUpdate(next_, &report, &view)) {
        case Job::Update::kNone:
          return;
        case Job::Update::kReport:
          ToProto(report, message_.mutable_progress());
          break;
        case Job::Update::kEnded:
          ToProto(view, message_.mutable_job());
          ended = true;
          break;
      }
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

// Converts a successful core result into the response.
template <class View, class Message>
absl::Status Answer(absl::StatusOr<View> view, Message* response) {
  if (!view.ok()) return view.status();
  ToProto(*view, response);
  return absl::OkStatus();
}

// A request's size, for admission.
int64_t Bytes(const google::protobuf::Message& request) {
  return static_cast<int64_t>(request.ByteSizeLong());
}

// A submit's request id, scoped by the caller's tenant (another tenant's id never matches), and
// the call's deadline (infinite when the client set none). INVALID_ARGUMENT for a long id.
absl::StatusOr<SubmitOptions> SubmitOptionsOf(const grpc::CallbackServerContext& context,
                                              const auth::Principal& caller,
                                              const std::string& request_id) {
  ACTSERVE_RETURN_IF_ERROR(CheckLength("request_id", request_id, kMaxIdBytes));
  SubmitOptions options;
  if (!request_id.empty()) {
    options.request_id = absl::StrCat(caller.tenant.size(), ":", caller.tenant, ":", request_id);
  }
  options.deadline = absl::FromChrono(context.deadline());
  options.owner = caller.tenant;
  return options;
}

}  // namespace

TrainingServiceImpl::TrainingServiceImpl(JobManager& jobs, Handler& handler,
                                         const Backends& backends, const TrainingLimits& limits,
                                         const auth::CallGuard& guard)
    : jobs_(jobs), handler_(handler), backends_(backends), limits_(limits), guard_(guard) {
  // Jobs recovered from the durable store keep their owners.
  for (const JobView& job : jobs_.List()) {
    owners_.Record(job.id, job.owner);
    if (!job.sweep_id.empty()) owners_.Record(job.sweep_id, job.owner);
  }
}

absl::StatusOr<auth::Principal> TrainingServiceImpl::Caller(
    const grpc::CallbackServerContext& context, const Method& method) const {
  absl::StatusOr<std::optional<auth::Principal>> caller = guard_.Check(context, method.path);
  if (!caller.ok()) return caller.status();
  if (!caller->has_value()) return absl::InternalError("a training rpc without a caller");
  return **caller;
}

absl::Status TrainingServiceImpl::CheckJob(const absl::StatusOr<auth::Principal>& caller,
                                           const std::string& id) const {
  if (!caller.ok()) return caller.status();
  return owners_.Visible(*caller, id) ? absl::OkStatus() : UnknownJob(id);
}

grpc::ServerUnaryReactor* TrainingServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                         const v1::SubmitJobRequest* request,
                                                         v1::Job* response) {
  return handler_.Unary(
      context, kSubmitJob, Bytes(*request), Placement::kPool,
      [this, context, request, response, caller = Caller(*context, kSubmitJob)]() -> absl::Status {
        if (!caller.ok()) return caller.status();
        ACTSERVE_ASSIGN_OR_RETURN(SubmitOptions options,
                                  SubmitOptionsOf(*context, *caller, request->request_id()));
        // A retry of a submit already made gets its job, without generating data again.
        ACTSERVE_ASSIGN_OR_RETURN(std::optional<std::string> first, jobs_.CheckSubmit(options, 1));
        if (first.has_value()) {
          ACTSERVE_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, jobs_.Find(*first));
          ToProto(job->View(false), response);
          return absl::OkStatus();
        }
        ACTSERVE_ASSIGN_OR_RETURN(
            options.generation,
            jobs_.ChargeGeneration(GenerationBytes(request->spec()), "the job"));
        ACTSERVE_ASSIGN_OR_RETURN(JobRequest job,
                                  ToJobRequest(request->spec(), limits_, backends_));
        absl::Status s = Answer(jobs_.Submit(std::move(job), std::move(options)), response);
        if (s.ok()) owners_.Record(response->id(), caller->tenant);
        return s;
      });
}

grpc::ServerWriteReactor<v1::WatchJobResponse>* TrainingServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  absl::StatusOr<Handler::StreamSlot> slot = handler_.OpenStream(context, kWatchJob, true);
  absl::Status visible =
      slot.ok() ? CheckJob(Caller(*context, kWatchJob), request->id()) : absl::OkStatus();
  absl::StatusOr<std::shared_ptr<Job>> job =
      visible.ok() ? jobs_.Find(request->id()) : absl::StatusOr<std::shared_ptr<Job>>(visible);
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
  return handler_.Unary(
      context, kGetJob, Bytes(*request), Placement::kInline,
      [this, request, response, caller = Caller(*context, kGetJob)]() -> absl::Status {
        if (absl::Status s = CheckJob(caller, request->id()); !s.ok()) return s;
        absl::StatusOr<std::shared_ptr<Job>> job = jobs_.Find(request->id());
        if (!job.ok()) return job.status();
        ToProto((*job)->View(request->include_weights()), response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                        const v1::ListJobsRequest* request,
                                                        v1::ListJobsResponse* response) {
  return handler_.Unary(context, kListJobs, Bytes(*request), Placement::kInline,
                        [this, response, caller = Caller(*context, kListJobs)]() -> absl::Status {
                          if (!caller.ok()) return caller.status();
                          for (const JobView& job : jobs_.List()) {
                            if (owners_.Visible(*caller, job.id)) {
                              ToProto(job, response->add_jobs());
                            }
                          }
                          return absl::OkStatus();
                        });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                         const v1::CancelJobRequest* request,
                                                         v1::Job* response) {
  // Answers once the job has ended: at once for a queued job, within a step for a running one,
  // on the worker's thread; no thread waits meanwhile.
  return handler_.UnaryAsync(
      context, kCancelJob, Bytes(*request), Placement::kInline,
      [this, request, response, caller = Caller(*context, kCancelJob)](Handler::Done done) {
        absl::Status visible = CheckJob(caller, request->id());
        if (!visible.ok()) return done([&] { return visible; });
        absl::StatusOr<std::shared_ptr<Job>> job = jobs_.Cancel(request->id());
        if (!job.ok()) return done([&] { return job.status(); });
        auto finish = std::make_shared<Handler::Done>(std::move(done));
        (*job)->WhenEnded([job = *job, response, finish] {
          (*finish)([&] {
            ToProto(job->View(false), response);
            return absl::OkStatus();
          });
        });
      });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::DeleteJob(grpc::CallbackServerContext* context,
                                                         const v1::DeleteJobRequest* request,
                                                         v1::DeleteJobResponse*) {
  return handler_.Unary(context, kDeleteJob, Bytes(*request), Placement::kInline,
                        [this, request, caller = Caller(*context, kDeleteJob)] {
                          if (absl::Status s = CheckJob(caller, request->id()); !s.ok()) return s;
                          absl::Status s = jobs_.Delete(request->id());
                          if (s.ok()) owners_.Forget(request->id());
                          return s;
                        });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::Predict(grpc::CallbackServerContext* context,
                                                       const v1::PredictRequest* request,
                                                       v1::PredictResponse* response) {
  return handler_.Unary(
      context, kPredict, Bytes(*request), Placement::kPool,
      [this, request, response, caller = Caller(*context, kPredict)]() -> absl::Status {
        if (!caller.ok()) return caller.status();
        std::optional<TrainedNetwork> job;
        if (request->model_case() == v1::PredictRequest::kJobId) {
          ACTSERVE_RETURN_IF_ERROR(CheckJob(caller, request->job_id()));
          ACTSERVE_ASSIGN_OR_RETURN(job, jobs_.Trained(request->job_id()));
        } else if (request->model_case() != v1::PredictRequest::kNetwork) {
          return absl::InvalidArgumentError(
              "model: neither job_id nor network is set; expected one");
        }
        ACTSERVE_ASSIGN_OR_RETURN(PredictInput input,
                                  ToPredictInput(*request, job ? &*job : nullptr, limits_));
        ACTSERVE_ASSIGN_OR_RETURN(Prediction out, server::Predict(input, *backends_.cpu));
        FillPredictResponse(input, out, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::SubmitSweep(grpc::CallbackServerContext* context,
                                                           const v1::SubmitSweepRequest* request,
                                                           v1::Sweep* response) {
  return handler_.Unary(
      context, kSubmitSweep, Bytes(*request), Placement::kPool,
      [this, context, request, response,
       caller = Caller(*context, kSubmitSweep)]() -> absl::Status {
        if (!caller.ok()) return caller.status();
        ACTSERVE_ASSIGN_OR_RETURN(SubmitOptions options,
                                  SubmitOptionsOf(*context, *caller, request->request_id()));
        // ToSweepRequests refuses counts outside 1..64 with the field's name.
        const int count = std::clamp(request->activations_size(), 1, 64);
        ACTSERVE_ASSIGN_OR_RETURN(std::optional<std::string> first,
                                  jobs_.CheckSubmit(options, count));
        if (first.has_value()) return Answer(jobs_.GetSweep(*first), response);
        // Every job of the sweep generates its own copy of the data.
        ACTSERVE_ASSIGN_OR_RETURN(
            options.generation,
            jobs_.ChargeGeneration(GenerationBytes(request->spec()) * count, "the sweep"));
        ACTSERVE_ASSIGN_OR_RETURN(std::vector<JobRequest> jobs,
                                  ToSweepRequests(*request, limits_, backends_));
        ACTSERVE_RETURN_IF_ERROR(Answer(
            jobs_.SubmitSweep(std::move(jobs), SweepDescription(*request), std::move(options)),
            response));
        owners_.Record(response->id(), caller->tenant);
        for (const v1::Job& job : response->jobs()) owners_.Record(job.id(), caller->tenant);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TrainingServiceImpl::GetSweep(grpc::CallbackServerContext* context,
                                                        const v1::GetSweepRequest* request,
                                                        v1::Sweep* response) {
  return handler_.Unary(
      context, kGetSweep, Bytes(*request), Placement::kInline,
      [this, request, response, caller = Caller(*context, kGetSweep)]() -> absl::Status {
        if (!caller.ok()) return caller.status();
        if (!owners_.Visible(*caller, request->id())) return UnknownSweep(request->id());
        return Answer(jobs_.GetSweep(request->id()), response);
      });
}

}  // namespace actserve::server
