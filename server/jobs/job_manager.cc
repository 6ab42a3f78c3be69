#include "server/jobs/job_manager.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_engine.h"
#include "kernels/util/status_macros.h"

namespace actserve::server {
namespace {

// "job-17" -> 17; nullopt for anything else.
std::optional<int64_t> JobNumber(const std::string& id) {
  absl::string_view rest = id;
  int64_t n = 0;
  if (!absl::ConsumePrefix(&rest, "job-") || !absl::SimpleAtoi(rest, &n)) return std::nullopt;
  return n;
}

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
      absl::StrFormat("id: no job \"%s\" on this server (ListJobs lists "
                      "them; ended jobs are kept until deleted or "
                      "displaced by newer ones)",
                      id));
}

absl::Status UnknownSweep(const std::string& id) {
  return absl::NotFoundError(absl::StrFormat("id: no sweep \"%s\" on this server", id));
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
      cancelled.push_back(job);
    }
    queue_.clear();
    for (auto& [n, job] : jobs_) job->cancel_requested_.store(true);
  }
  for (const auto& job : cancelled) job->Notify();
}

absl::Status JobManager::CheckRoom(int count, const char* what) const {
  if (draining_ || stopping_) {
    return absl::UnavailableError(
        absl::StrCat("the server is shutting down; submit the ", what, " elsewhere"));
  }
  if (count == 1 && static_cast<int>(queue_.size()) >= options_.max_queued) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the job queue is full: %d jobs wait for a worker (--max_queued_jobs); retry later",
        queue_.size()));
  }
  if (static_cast<int>(queue_.size()) + count > options_.max_queued) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the job queue cannot take %d more jobs: %d of %d places are taken (--max_queued_jobs)",
        count, queue_.size(), options_.max_queued));
  }
  return absl::OkStatus();
}

absl::StatusOr<JobView> JobManager::Submit(JobRequest request) {
  absl::MutexLock lock(&mu_);
  ACTSERVE_RETURN_IF_ERROR(CheckRoom(1, "job"));
  return Enqueue(std::move(request), "")->View(false);
}

std::shared_ptr<Job> JobManager::Enqueue(JobRequest request, const std::string& sweep_id) {
  const int64_t n = next_id_++;
  auto job = std::make_shared<Job>(absl::StrCat("job-", n), sweep_id, std::move(request));
  jobs_[n] = job;
  queue_.push_back(job);
  if (metrics_ != nullptr) metrics_->RecordJobSubmitted();
  return job;
}

absl::StatusOr<SweepView> JobManager::SubmitSweep(std::vector<JobRequest> jobs,
                                                  std::string description) {
  absl::MutexLock lock(&mu_);
  ACTSERVE_RETURN_IF_ERROR(CheckRoom(static_cast<int>(jobs.size()), "sweep"));
  SweepView sweep{.id = absl::StrCat("sweep-", next_id_++), .description = std::move(description)};
  for (JobRequest& request : jobs) {
    sweep.jobs.push_back(Enqueue(std::move(request), sweep.id)->View(false));
  }
  sweeps_[sweep.id] = {.description = sweep.description, .jobs = sweep.jobs};
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
    std::optional<int64_t> n = JobNumber(job.id);
    auto j = n ? jobs_.find(*n) : jobs_.end();
    if (j != jobs_.end()) job = j->second->View(false);  // else: deleted; keep the last view
  }
  return out;
}

absl::StatusOr<std::shared_ptr<Job>> JobManager::Find(const std::string& id) const {
  std::optional<int64_t> n = JobNumber(id);
  absl::MutexLock lock(&mu_);
  auto it = n ? jobs_.find(*n) : jobs_.end();
  if (it == jobs_.end()) return UnknownJob(id);
  return it->second;
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
  jobs_.erase(*JobNumber(id));
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
  // Train takes the data and releases it, with its buffers, before it returns.
  absl::StatusOr<train::TrainResult> result =
      train::Train(input->spec, std::move(input->train), std::move(input->validation), options);
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
  int ended = 0;
  for (const auto& [n, job] : jobs_) ended += job->ended();
  for (auto it = jobs_.begin(); ended > options_.max_retained && it != jobs_.end();) {
    if (it->second->ended()) {
      it = jobs_.erase(it);
      --ended;
    } else {
      ++it;
    }
  }
}

}  // namespace actserve::server
