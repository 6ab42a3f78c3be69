#include "server/jobs/job_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_engine.h"
#include "kernels/util/status_macros.h"
#include "kernels/util/untrusted.h"
#include "server/jobs/job_id.h"

namespace actserve::server {
namespace {

bool Ended(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Status UnknownJob(const std::string& id) {
  return absl::NotFoundError(
      absl::StrFormat("id: no job %s on this server (ListJobs lists "
                      "them; ended jobs are kept until deleted or "
                      "displaced by newer ones)",
                      QuoteUntrusted(id)));
}

// The most bytes generating `data` may take: its values in double, and a copy while a
// validation split is made. Inline data is in the request, charged with it.
int64_t GenerationBytes(const v1::Data& data) {
  if (!data.has_generated()) return 0;
  const int64_t rows = std::clamp<int64_t>(data.generated().rows(), 0, int64_t{1} << 40);
  return rows * 3 * int64_t{sizeof(double)} * 2;  // at most 2 features and 1 target a row
}

int64_t WeightBytes(const std::vector<train::LayerWeights>& weights) {
  int64_t n = 0;
  for (const auto& w : weights) {
    n +=
        (w.weights.capacity() + w.bias.capacity() + w.activation_param.capacity()) * sizeof(double);
  }
  return n;
}

}  // namespace

// ---- Job ----

Job::Job(std::string id, std::string sweep_id, v1::JobSpec spec, JobInput input)
    : id_(std::move(id)),
      sweep_id_(std::move(sweep_id)),
      spec_(std::move(spec)),
      create_time_(absl::Now()) {
  absl::MutexLock lock(&mu_);
  train_spec_ = input.spec;
  memory_bytes_ =
      static_cast<int64_t>(train::EstimateJobBytes(input.spec, input.train, input.validation));
  input_ = std::make_unique<JobInput>(std::move(input));
}

v1::Job Job::ToProto(bool include_weights) const {
  v1::Job out;
  out.set_id(id_);
  out.set_name(spec_.name());
  *out.mutable_spec() = spec_;
  out.set_sweep_id(sweep_id_);
  SetTime(create_time_, out.mutable_create_time());
  absl::MutexLock lock(&mu_);
  out.set_state(state_);
  if (start_time_ != absl::InfinitePast()) SetTime(start_time_, out.mutable_start_time());
  if (end_time_ != absl::InfinitePast()) SetTime(end_time_, out.mutable_end_time());
  if (!reports_.empty()) *out.mutable_last_progress() = reports_.back();
  out.set_reports(static_cast<int64_t>(reports_.size()));
  if (has_result_) *out.mutable_result() = result_;
  if (!error_.ok()) {
    out.mutable_error()->set_code(static_cast<int>(error_.code()));
    out.mutable_error()->set_message(std::string(error_.message()));
  }
  if (include_weights) server::ToProto(train_spec_, weights_, out.mutable_weights());
  out.set_memory_bytes(memory_bytes_);
  return out;
}

bool Job::ReadUpdate(int64_t index, v1::WatchJobResponse* out, bool* ended) const {
  {
    absl::MutexLock lock(&mu_);
    *ended = false;
    if (index < static_cast<int64_t>(reports_.size())) {
      *out->mutable_progress() = reports_[index];
      return true;
    }
    if (!Ended(state_)) return false;
  }
  *ended = true;
  *out->mutable_job() = ToProto(/*include_weights=*/false);
  return true;
}

bool Job::ended() const {
  absl::MutexLock lock(&mu_);
  return Ended(state_);
}

void Job::Subscribe(JobListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.push_back(listener);
}

void Job::Unsubscribe(JobListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

void Job::WhenEnded(std::function<void()> callback) {
  {
    // Under listeners_mu_, which Notify holds while it checks: a callback is either run here or
    // by the Notify that follows the end, never both or neither.
    absl::MutexLock lock(&listeners_mu_);
    if (!ended()) {
      when_ended_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void Job::Notify() {
  std::vector<std::function<void()>> ended_callbacks;
  {
    // Holding the lock while calling keeps Unsubscribe from returning mid-call.
    absl::MutexLock lock(&listeners_mu_);
    for (JobListener* l : listeners_) l->OnJobUpdate();
    if (ended()) ended_callbacks.swap(when_ended_);
  }
  for (auto& callback : ended_callbacks) callback();
}

// ---- JobManager ----

JobManager::JobManager(const JobManagerOptions& options, Metrics* metrics)
    : options_(options), metrics_(metrics) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Work(); });
}

JobManager::~JobManager() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  CancelAll();
  for (std::thread& t : workers_) t.join();
}

void JobManager::CancelAll() {
  std::vector<std::shared_ptr<Job>> cancelled;
  {
    absl::MutexLock lock(&mu_);
    for (const std::shared_ptr<Job>& job : queue_) {
      absl::MutexLock job_lock(&job->mu_);
      EndJob(*job, v1::JOB_STATE_CANCELLED);
      cancelled.push_back(job);
    }
    queue_.clear();
    for (auto& [n, job] : jobs_) job->cancel_requested_.store(true);
  }
  for (const auto& job : cancelled) job->Notify();
}

absl::Status JobManager::CheckSubmit(const SubmitOptions& options, int jobs) const {
  if (draining_ || stopping_) {
    return absl::UnavailableError("the server is shutting down; submit elsewhere");
  }
  if (absl::Now() >= options.deadline) {
    return absl::DeadlineExceededError(
        "the submit's deadline passed before it was queued; nothing was created");
  }
  if (static_cast<int>(queue_.size()) + jobs > options_.max_queued) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the job queue is full: %d jobs wait for a worker and %d more cannot join them "
        "(--max_queued_jobs is %d); retry later",
        queue_.size(), jobs, options_.max_queued));
  }
  return absl::OkStatus();
}

std::shared_ptr<Job> JobManager::Lookup(const std::string& id) const {
  auto seq = seq_.find(id);
  if (seq == seq_.end()) return nullptr;
  auto it = jobs_.find(seq->second);
  return it == jobs_.end() ? nullptr : it->second;
}

absl::StatusOr<std::pair<JobInput, MemoryBudget::Reservation>> JobManager::Admit(
    const v1::JobSpec& spec, const std::string& what) {
  MemoryBudget::Reservation generation, estimate;
  if (options_.budget != nullptr) {
    ACTSERVE_ASSIGN_OR_RETURN(
        generation, options_.budget->Reserve(
                        GenerationBytes(spec.data()) + GenerationBytes(spec.validation_data()),
                        absl::StrCat(what, " (generating its data)")));
  }
  ACTSERVE_ASSIGN_OR_RETURN(JobInput input, ToJobInput(spec, options_.limits, options_.backends));
  if (options_.budget != nullptr) {
    const int64_t bytes =
        static_cast<int64_t>(train::EstimateJobBytes(input.spec, input.train, input.validation));
    generation.Release();  // the data is part of the estimate
    ACTSERVE_ASSIGN_OR_RETURN(estimate, options_.budget->Reserve(bytes, what));
  }
  return std::make_pair(std::move(input), std::move(estimate));
}

absl::StatusOr<v1::Job> JobManager::Submit(const v1::JobSpec& spec, const SubmitOptions& options) {
  ACTSERVE_RETURN_IF_ERROR(CheckLength("request_id", options.request_id, kMaxIdBytes));
  {
    absl::MutexLock lock(&mu_);
    if (!options.request_id.empty()) {
      auto seen = request_ids_.find(options.request_id);
      std::shared_ptr<Job> first = seen == request_ids_.end() ? nullptr : Lookup(seen->second);
      if (first != nullptr) return first->ToProto(false);
    }
    ACTSERVE_RETURN_IF_ERROR(CheckSubmit(options, 1));
  }
  // Conversion (which generates data) happens outside the lock, charged to the budget.
  auto admitted = Admit(spec, "the job");
  if (!admitted.ok()) return admitted.status();
  absl::MutexLock lock(&mu_);
  if (!options.request_id.empty()) {  // a concurrent retry may have won
    auto seen = request_ids_.find(options.request_id);
    std::shared_ptr<Job> first = seen == request_ids_.end() ? nullptr : Lookup(seen->second);
    if (first != nullptr) return first->ToProto(false);
  }
  ACTSERVE_RETURN_IF_ERROR(CheckSubmit(options, 1));
  std::shared_ptr<Job> job =
      Enqueue(spec, std::move(admitted->first), "", std::move(admitted->second));
  if (!options.request_id.empty()) request_ids_[options.request_id] = job->id();
  return job->ToProto(false);
}

std::shared_ptr<Job> JobManager::Enqueue(const v1::JobSpec& spec, JobInput input,
                                         const std::string& sweep_id,
                                         MemoryBudget::Reservation reservation) {
  const int64_t seq = next_seq_++;
  auto job = std::make_shared<Job>(NewJobId(), sweep_id, WithoutInlineData(spec), std::move(input));
  {
    absl::MutexLock job_lock(&job->mu_);
    job->reservation_ = std::move(reservation);
  }
  jobs_[seq] = job;
  seq_[job->id()] = seq;
  queue_.push_back(job);
  if (metrics_ != nullptr) metrics_->RecordJobSubmitted();
  return job;
}

absl::StatusOr<v1::Sweep> JobManager::SubmitSweep(const v1::SubmitSweepRequest& request,
                                                  const SubmitOptions& options) {
  const int count = request.activations_size();
  if (count < 1 || count > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("activations: %d given; expected 1 to 64", count));
  }
  if (request.spec().layers_size() < 2) {
    return absl::InvalidArgumentError(
        "spec.layers: a sweep needs at least one hidden layer whose activation it varies");
  }
  ACTSERVE_RETURN_IF_ERROR(CheckLength("request_id", options.request_id, kMaxIdBytes));
  ACTSERVE_RETURN_IF_ERROR(CheckLength("spec.name", request.spec().name(), kMaxJobNameBytes));
  auto first_sweep = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> std::optional<v1::Sweep> {
    if (options.request_id.empty()) return std::nullopt;
    auto seen = request_ids_.find(options.request_id);
    if (seen == request_ids_.end()) return std::nullopt;
    auto sweep = sweeps_.find(seen->second);
    if (sweep == sweeps_.end()) return std::nullopt;
    return sweep->second;
  };
  {
    absl::MutexLock lock(&mu_);
    if (std::optional<v1::Sweep> first = first_sweep()) return *first;
    ACTSERVE_RETURN_IF_ERROR(CheckSubmit(options, count));
  }
  // Every run is converted and charged before any is queued: a refusal releases them all.
  struct Run {
    v1::JobSpec spec;
    JobInput input;
    MemoryBudget::Reservation reservation;
  };
  std::vector<Run> runs;
  for (int i = 0; i < count; ++i) {
    const v1::SweepActivation& a = request.activations(i);
    ACTSERVE_RETURN_IF_ERROR(CheckLength(absl::StrFormat("activations[%d].activation", i),
                                         a.activation(), kMaxActivationNameBytes));
    v1::JobSpec spec = request.spec();
    spec.set_name(absl::StrCat(spec.name().empty() ? "sweep" : spec.name(), "/", a.activation()));
    for (int l = 0; l + 1 < spec.layers_size(); ++l) {
      spec.mutable_layers(l)->set_activation(a.activation());
      *spec.mutable_layers(l)->mutable_params() = a.params();
    }
    auto admitted = Admit(spec, absl::StrFormat("the sweep's job %d of %d", i + 1, count));
    if (!admitted.ok()) {
      return absl::Status(
          admitted.status().code(),
          absl::StrFormat("activations[%d] (%s): %s; the sweep was not created", i,
                          QuoteUntrusted(a.activation()), admitted.status().message()));
    }
    runs.push_back({std::move(spec), std::move(admitted->first), std::move(admitted->second)});
  }
  absl::MutexLock lock(&mu_);
  if (std::optional<v1::Sweep> first = first_sweep()) return *first;
  ACTSERVE_RETURN_IF_ERROR(CheckSubmit(options, count));
  v1::Sweep sweep;
  sweep.set_id(NewSweepId());
  for (Run& run : runs) {
    *sweep.add_jobs() =
        Enqueue(run.spec, std::move(run.input), sweep.id(), std::move(run.reservation))
            ->ToProto(false);
  }
  *sweep.mutable_activations() = request.activations();
  sweeps_[sweep.id()] = sweep;
  if (!options.request_id.empty()) request_ids_[options.request_id] = sweep.id();
  return sweep;
}

absl::StatusOr<v1::Sweep> JobManager::GetSweep(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = sweeps_.find(id);
  if (it == sweeps_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("id: no sweep %s on this server", QuoteUntrusted(id)));
  }
  v1::Sweep out = it->second;
  for (v1::Job& job : *out.mutable_jobs()) {
    std::shared_ptr<Job> j = Lookup(job.id());
    if (j != nullptr) job = j->ToProto(false);  // else: deleted; keep the last view
  }
  return out;
}

absl::StatusOr<std::shared_ptr<Job>> JobManager::Find(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Job> job = Lookup(id);
  if (job == nullptr) return UnknownJob(id);
  return job;
}

std::vector<v1::Job> JobManager::List() const {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [n, job] : jobs_) jobs.push_back(job);
  }
  std::vector<v1::Job> out;
  for (const auto& job : jobs) out.push_back(job->ToProto(false));
  return out;
}

absl::StatusOr<std::shared_ptr<Job>> JobManager::Cancel(const std::string& id) {
  ACTSERVE_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, Find(id));
  {
    absl::MutexLock lock(&mu_);
    {
      absl::MutexLock job_lock(&job->mu_);
      if (Ended(job->state_)) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "%s has already ended (%s); only queued or running jobs can be cancelled", id,
            v1::JobState_Name(job->state_)));
      }
      if (job->state_ == v1::JOB_STATE_QUEUED) {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), job), queue_.end());
        EndJob(*job, v1::JOB_STATE_CANCELLED);
      }
      job->cancel_requested_.store(true);
    }
    Retain();
  }
  // A running job's worker checks before every step: it stops within one step, and ends it.
  job->Notify();
  return job;
}

absl::Status JobManager::Delete(const std::string& id) {
  ACTSERVE_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, Find(id));
  if (!job->ended()) {
    absl::StatusOr<std::shared_ptr<Job>> cancelled = Cancel(id);
    if (!cancelled.ok() && !absl::IsFailedPrecondition(cancelled.status())) {
      return cancelled.status();
    }
  }
  absl::MutexLock lock(&mu_);
  auto seq = seq_.find(id);
  if (seq != seq_.end()) {
    jobs_.erase(seq->second);
    seq_.erase(seq);
  }
  return absl::OkStatus();
}

absl::Status JobManager::TrainedNetwork(const std::string& id, train::TrainSpec* spec,
                                        std::vector<train::LayerWeights>* weights) const {
  ACTSERVE_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, Find(id));
  absl::MutexLock lock(&job->mu_);
  if (!Ended(job->state_) || job->weights_.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "job_id: %s has no trained network (%s); predict with a job that succeeded or was "
        "cancelled after training began",
        id, v1::JobState_Name(job->state_)));
  }
  *spec = job->train_spec_;
  *weights = job->weights_;
  return absl::OkStatus();
}

void JobManager::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool JobManager::WaitUntilIdle(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(absl::Condition(
                                   +[](const JobManager* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu_) {
                                     return m->queue_.empty() && m->running_ == 0;
                                   },
                                   this),
                               deadline);
}

int JobManager::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

int JobManager::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

int64_t JobManager::memory_bytes() const {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [n, job] : jobs_) jobs.push_back(job);
  }
  int64_t total = 0;
  for (const auto& job : jobs) {
    absl::MutexLock lock(&job->mu_);
    total += job->memory_bytes_;
  }
  return total;
}

void JobManager::Work() {
  // One backend per worker, on this thread alone: results depend only on the job.
  std::unique_ptr<Backend> backend = NewCpuBackend({.threads = 1});
  while (true) {
    std::shared_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](JobManager* m)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu_) { return m->stopping_ || !m->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    RunJob(job, *backend);
    absl::MutexLock lock(&mu_);
    --running_;
    Retain();
  }
}

void JobManager::RunJob(const std::shared_ptr<Job>& job, Backend& backend) {
  std::unique_ptr<JobInput> input;
  {
    absl::MutexLock lock(&job->mu_);
    if (job->state_ != v1::JOB_STATE_QUEUED) return;  // cancelled meanwhile
    job->state_ = v1::JOB_STATE_RUNNING;
    job->start_time_ = absl::Now();
    input = std::move(job->input_);
  }
  job->Notify();
  int64_t last_step = 0;
  train::TrainOptions options;
  options.backend = &backend;
  if (input->cuda) {
    options.engine = [device = options_.backends.cuda_device](const train::TrainSpec& spec) {
      return NewCudaEngine(spec, {.device = device});
    };
  }
  options.max_wall_time = input->max_wall_time;
  options.stop_requested = [&job] { return job->cancel_requested_.load(); };
  options.on_progress = [&](const train::Progress& p) {
    v1::Progress report;
    ToProto(p, &report);
    {
      absl::MutexLock lock(&job->mu_);
      job->reports_.push_back(std::move(report));
    }
    if (metrics_ != nullptr) metrics_->RecordTrainingSteps(p.step - last_step);
    last_step = p.step;
    job->Notify();
  };
  // Train takes the data and releases it, with its buffers, before it returns. Nothing may
  // escape a worker: an allocation failure (or any exception) fails this job, not the server.
  absl::StatusOr<train::TrainResult> result = absl::InternalError("the job did not run");
  try {
    result =
        train::Train(input->spec, std::move(input->train), std::move(input->validation), options);
  } catch (const std::bad_alloc&) {
    result = absl::ResourceExhaustedError(
        "the server ran out of memory while training this job; retry with less data, a smaller "
        "batch or fewer units");
  } catch (const std::exception& e) {
    result = absl::InternalError(absl::StrCat("training failed: ", e.what()));
  }
  input.reset();
  {
    absl::MutexLock lock(&job->mu_);
    if (!result.ok()) {
      job->error_ = result.status();
      EndJob(*job, v1::JOB_STATE_FAILED);
    } else {
      if (metrics_ != nullptr) metrics_->RecordTrainingSteps(result->steps - last_step);
      switch (result->outcome) {
        case train::Outcome::kFailed:
          job->error_ = result->failure;
          EndJob(*job, v1::JOB_STATE_FAILED);
          break;
        case train::Outcome::kCancelled:
          if (result->steps > 0) {
            job->weights_ = std::move(result->weights);
            ToProto(*result, &job->result_);
            job->has_result_ = true;
          }
          EndJob(*job, v1::JOB_STATE_CANCELLED);
          break;
        default:
          job->weights_ = std::move(result->weights);
          ToProto(*result, &job->result_);
          job->has_result_ = true;
          EndJob(*job, v1::JOB_STATE_SUCCEEDED);
      }
    }
  }
  job->Notify();
}

void JobManager::EndJob(Job& job, v1::JobState state) {
  job.state_ = state;
  job.end_time_ = absl::Now();
  job.input_.reset();
  job.reservation_.Release();  // after the input is freed: the budget may trim the heap
  int64_t report_bytes = 0;
  for (const v1::Progress& p : job.reports_) report_bytes += p.SpaceUsedLong();
  job.memory_bytes_ = WeightBytes(job.weights_) + report_bytes;
  if (metrics_ != nullptr) {
    double seconds = job.start_time_ == absl::InfinitePast()
                         ? 0
                         : absl::ToDoubleSeconds(job.end_time_ - job.start_time_);
    metrics_->RecordJobEnded(state == v1::JOB_STATE_SUCCEEDED ? 0
                             : state == v1::JOB_STATE_FAILED  ? 1
                                                              : 2,
                             seconds);
  }
}

void JobManager::Retain() {
  // Request ids of forgotten jobs and sweeps are dropped once they outnumber what is kept.
  if (request_ids_.size() >
      static_cast<size_t>(2 * (options_.max_retained + options_.max_queued))) {
    for (auto it = request_ids_.begin(); it != request_ids_.end();) {
      const bool kept = seq_.count(it->second) > 0 || sweeps_.count(it->second) > 0;
      it = kept ? std::next(it) : request_ids_.erase(it);
    }
  }
  int ended = 0;
  for (const auto& [n, job] : jobs_) ended += job->ended();
  for (auto it = jobs_.begin(); ended > options_.max_retained && it != jobs_.end();) {
    if (it->second->ended()) {
      seq_.erase(it->second->id());
      it = jobs_.erase(it);
      --ended;
    } else {
      ++it;
    }
  }
}

}  // namespace actserve::server
