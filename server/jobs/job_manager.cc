#include "server/jobs/job_manager.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <new>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_engine.h"
#include "kernels/util/status_macros.h"
#include "kernels/util/untrusted.h"
#include "server/jobs/job_id.h"

namespace actserve::server {
namespace {

int64_t WeightBytes(const std::vector<train::LayerWeights>& weights) {
  int64_t n = 0;
  for (const auto& w : weights) {
    n +=
        (w.weights.capacity() + w.bias.capacity() + w.activation_param.capacity()) * sizeof(double);
  }
  return n;
}

int64_t ReportBytes(const std::vector<train::Progress>& reports) {
  int64_t n = static_cast<int64_t>(reports.capacity() * sizeof(train::Progress));
  for (const train::Progress& p : reports) {
    n += static_cast<int64_t>(p.layers.capacity() * sizeof(train::LayerDiagnostics));
  }
  return n;
}

}  // namespace

absl::Status UnknownJob(const std::string& id) {
  return absl::NotFoundError(
      absl::StrFormat("id: no job %s on this server (ListJobs lists "
                      "them; ended jobs are kept until deleted or "
                      "displaced by newer ones)",
                      QuoteUntrusted(id)));
}

absl::Status UnknownSweep(const std::string& id) {
  return absl::NotFoundError(absl::StrFormat("id: no sweep %s on this server", QuoteUntrusted(id)));
}

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
      EndJob(*job, JobState::kCancelled);
      LeaveActive(*job);
      cancelled.push_back(job);
    }
    queue_.clear();
    for (auto& [n, job] : jobs_) job->cancel_requested_.store(true);
  }
  for (const auto& job : cancelled) job->Notify();
}

absl::Status JobManager::CheckRoom(int count, absl::Time deadline, const std::string& owner) {
  if (draining_ || stopping_) {
    return absl::UnavailableError("the server is shutting down; submit elsewhere");
  }
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(
        "the submit's deadline passed before it was queued; nothing was created");
  }
  if (static_cast<int>(queue_.size()) + count > options_.max_queued) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the job queue is full: %d jobs wait for a worker and %d more cannot join them "
        "(--max_queued_jobs is %d); retry later",
        queue_.size(), count, options_.max_queued));
  }
  if (!owner.empty() && options_.max_active_per_owner > 0) {
    auto it = active_by_owner_.find(owner);
    const int active = it == active_by_owner_.end() ? 0 : it->second;
    if (active + count > options_.max_active_per_owner) {
      ++owner_rejections_[owner];
      return absl::ResourceExhaustedError(absl::StrFormat(
          "tenant '%s' has %d jobs queued or running and %d more would pass its quota of %d "
          "(--tenant_max_jobs); retry when its jobs end",
          owner, active, count, options_.max_active_per_owner));
    }
  }
  return absl::OkStatus();
}

void JobManager::LeaveActive(const Job& job) {
  auto it = active_owner_.find(job.id());
  if (it == active_owner_.end()) return;
  if (--active_by_owner_[it->second] == 0) active_by_owner_.erase(it->second);
  active_owner_.erase(it);
}

std::map<std::string, int64_t> JobManager::owner_rejections() const {
  absl::MutexLock lock(&mu_);
  return owner_rejections_;
}

std::optional<std::string> JobManager::Submitted(const std::string& request_id) const {
  if (request_id.empty()) return std::nullopt;
  auto seen = request_ids_.find(request_id);
  if (seen == request_ids_.end()) return std::nullopt;
  if (Lookup(seen->second) == nullptr && sweeps_.count(seen->second) == 0) return std::nullopt;
  return seen->second;
}

std::shared_ptr<Job> JobManager::Lookup(const std::string& id) const {
  auto seq = seq_.find(id);
  if (seq == seq_.end()) return nullptr;
  auto it = jobs_.find(seq->second);
  return it == jobs_.end() ? nullptr : it->second;
}

absl::StatusOr<std::optional<std::string>> JobManager::CheckSubmit(const SubmitOptions& options,
                                                                   int jobs) {
  absl::MutexLock lock(&mu_);
  if (std::optional<std::string> first = Submitted(options.request_id)) return first;
  ACTSERVE_RETURN_IF_ERROR(CheckRoom(jobs, options.deadline, options.owner));
  return std::nullopt;
}

absl::StatusOr<MemoryBudget::Reservation> JobManager::ChargeGeneration(int64_t bytes,
                                                                       const std::string& what) {
  if (options_.budget == nullptr) return MemoryBudget::Reservation();
  return options_.budget->Reserve(bytes, absl::StrCat(what, " (generating its data)"));
}

absl::StatusOr<std::vector<MemoryBudget::Reservation>> JobManager::ChargeEstimates(
    const std::vector<JobRequest>& requests, MemoryBudget::Reservation generation) {
  std::vector<MemoryBudget::Reservation> out(requests.size());
  generation.Release();  // the data is part of each estimate
  if (options_.budget == nullptr) return out;
  for (size_t i = 0; i < requests.size(); ++i) {
    const JobInput& in = requests[i].input;
    const auto bytes =
        static_cast<int64_t>(train::EstimateJobBytes(in.spec, in.train, in.validation));
    const std::string what =
        requests.size() == 1 ? std::string("the job")
                             : absl::StrFormat("the sweep's job %d of %d", i + 1, requests.size());
    absl::StatusOr<MemoryBudget::Reservation> r = options_.budget->Reserve(bytes, what);
    if (!r.ok()) {  // the reservations taken so far are released with `out`
      if (requests.size() == 1) return r.status();
      return absl::Status(r.status().code(),
                          absl::StrCat(r.status().message(), "; the sweep was not created"));
    }
    out[i] = *std::move(r);
  }
  return out;
}

absl::StatusOr<JobView> JobManager::Submit(JobRequest request, SubmitOptions options) {
  std::vector<JobRequest> requests;
  requests.push_back(std::move(request));
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<MemoryBudget::Reservation> charges,
                            ChargeEstimates(requests, std::move(options.generation)));
  absl::MutexLock lock(&mu_);
  if (std::optional<std::string> first = Submitted(options.request_id)) {
    if (std::shared_ptr<Job> job = Lookup(*first)) return job->View(false);
  }
  ACTSERVE_RETURN_IF_ERROR(CheckRoom(1, options.deadline, options.owner));
  std::shared_ptr<Job> job =
      Enqueue(std::move(requests[0]), "", std::move(charges[0]), options.owner);
  if (!options.request_id.empty()) request_ids_[options.request_id] = job->id();
  return job->View(false);
}

std::shared_ptr<Job> JobManager::Enqueue(JobRequest request, const std::string& sweep_id,
                                         MemoryBudget::Reservation reservation,
                                         const std::string& owner) {
  const int64_t seq = next_seq_++;
  auto job = std::make_shared<Job>(NewJobId(), sweep_id, std::move(request));
  {
    absl::MutexLock job_lock(&job->mu_);
    job->reservation_ = std::move(reservation);
  }
  jobs_[seq] = job;
  seq_[job->id()] = seq;
  queue_.push_back(job);
  if (!owner.empty()) {
    active_owner_[job->id()] = owner;
    ++active_by_owner_[owner];
  }
  if (metrics_ != nullptr) metrics_->RecordJobSubmitted();
  return job;
}

absl::StatusOr<SweepView> JobManager::SubmitSweep(std::vector<JobRequest> jobs,
                                                  std::string description, SubmitOptions options) {
  // Every job is charged before any is queued: a refusal releases them all.
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<MemoryBudget::Reservation> charges,
                            ChargeEstimates(jobs, std::move(options.generation)));
  absl::MutexLock lock(&mu_);
  if (std::optional<std::string> first = Submitted(options.request_id)) {
    auto it = sweeps_.find(*first);
    if (it != sweeps_.end()) {
      return SweepView{
          .id = *first, .description = it->second.description, .jobs = it->second.jobs};
    }
  }
  ACTSERVE_RETURN_IF_ERROR(
      CheckRoom(static_cast<int>(jobs.size()), options.deadline, options.owner));
  SweepView sweep{.id = NewSweepId(), .description = std::move(description)};
  for (size_t i = 0; i < jobs.size(); ++i) {
    sweep.jobs.push_back(
        Enqueue(std::move(jobs[i]), sweep.id, std::move(charges[i]), options.owner)->View(false));
  }
  sweeps_[sweep.id] = {.description = sweep.description, .jobs = sweep.jobs};
  if (!options.request_id.empty()) request_ids_[options.request_id] = sweep.id;
  return sweep;
}

absl::StatusOr<SweepView> JobManager::GetSweep(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = sweeps_.find(id);
  if (it == sweeps_.end()) {
    return UnknownSweep(id);
  }
  SweepView out{.id = id, .description = it->second.description, .jobs = it->second.jobs};
  for (JobView& job : out.jobs) {
    std::shared_ptr<Job> j = Lookup(job.id);
    if (j != nullptr) job = j->View(false);  // else: deleted; keep the last view
  }
  return out;
}

absl::StatusOr<std::shared_ptr<Job>> JobManager::Find(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Job> job = Lookup(id);
  if (job == nullptr) return UnknownJob(id);
  return job;
}

std::vector<JobView> JobManager::List() const {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [n, job] : jobs_) jobs.push_back(job);
  }
  std::vector<JobView> out;
  for (const auto& job : jobs) out.push_back(job->View(false));
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
            JobStateName(job->state_)));
      }
      if (job->state_ == JobState::kQueued) {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), job), queue_.end());
        EndJob(*job, JobState::kCancelled);
        LeaveActive(*job);
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

absl::StatusOr<TrainedNetwork> JobManager::Trained(const std::string& id) const {
  ACTSERVE_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, Find(id));
  absl::MutexLock lock(&job->mu_);
  if (!Ended(job->state_) || job->weights_.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "job_id: %s has no trained network (%s); predict with a job that succeeded or was "
        "cancelled after training began",
        id, JobStateName(job->state_)));
  }
  return TrainedNetwork{.spec = job->train_spec_, .weights = job->weights_};
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
    LeaveActive(*job);
    Retain();
  }
}

void JobManager::RunJob(const std::shared_ptr<Job>& job, Backend& backend) {
  std::unique_ptr<JobInput> input;
  {
    absl::MutexLock lock(&job->mu_);
    if (job->state_ != JobState::kQueued) return;  // cancelled meanwhile
    job->state_ = JobState::kRunning;
    job->start_time_ = absl::Now();
    input = std::move(job->input_);
  }
  job->Notify();
  int64_t last_step = 0;
  train::TrainOptions options;
  options.backend = &backend;
  if (input->cuda) {
    options.engine = [device = options_.cuda_device](const train::TrainSpec& spec) {
      return NewCudaEngine(spec, {.device = device});
    };
  }
  options.max_wall_time = input->max_wall_time;
  options.stop_requested = [&job] { return job->cancel_requested_.load(); };
  options.on_progress = [&](const train::Progress& p) {
    {
      absl::MutexLock lock(&job->mu_);
      job->reports_.push_back(p);
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
  Finish(*job, std::move(result), last_step);
  job->Notify();
}

void JobManager::Finish(Job& job, absl::StatusOr<train::TrainResult> result, int64_t last_step) {
  absl::MutexLock lock(&job.mu_);
  if (!result.ok()) {
    // Only a stop request makes Train return CANCELLED (an evaluation it interrupted): the job
    // was cancelled, not failed.
    if (absl::IsCancelled(result.status())) return EndJob(job, JobState::kCancelled);
    job.error_ = result.status();
    return EndJob(job, JobState::kFailed);
  }
  if (metrics_ != nullptr) metrics_->RecordTrainingSteps(result->steps - last_step);
  if (result->outcome == train::Outcome::kFailed) {
    job.error_ = result->failure;
    return EndJob(job, JobState::kFailed);
  }
  const bool cancelled = result->outcome == train::Outcome::kCancelled;
  if (!cancelled || result->steps > 0) {
    job.weights_ = std::move(result->weights);
    result->weights.clear();
    job.result_ = *std::move(result);
  }
  EndJob(job, cancelled ? JobState::kCancelled : JobState::kSucceeded);
}

void JobManager::EndJob(Job& job, JobState state) {
  job.state_ = state;
  job.end_time_ = absl::Now();
  job.input_.reset();
  job.reservation_.Release();  // after the input is freed: the budget may trim the heap
  job.memory_bytes_ = WeightBytes(job.weights_) + ReportBytes(job.reports_);
  if (metrics_ != nullptr) {
    double seconds = job.start_time_ == absl::InfinitePast()
                         ? 0
                         : absl::ToDoubleSeconds(job.end_time_ - job.start_time_);
    metrics_->RecordJobEnded(state == JobState::kSucceeded ? 0
                             : state == JobState::kFailed  ? 1
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
