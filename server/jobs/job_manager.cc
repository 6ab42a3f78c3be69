#include "server/jobs/job_manager.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iterator>
#include <new>
#include <optional>
#include <set>
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
  if (options_.store != nullptr) Recover();
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Work(); });
}

JobManager::~JobManager() {
  Suspend();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) t.join();
}

void JobManager::Suspend() {
  if (options_.store == nullptr) return CancelAll();
  suspending_.store(true);  // running jobs stop before their next step, their end unstored
  absl::MutexLock lock(&mu_);
  draining_ = true;
  queue_.clear();  // still queued in the store
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

std::vector<std::shared_ptr<Job>> JobManager::MakeJobs(
    std::vector<JobRequest>& requests, const std::string& sweep_id,
    std::vector<MemoryBudget::Reservation> charges, const SubmitOptions& options) {
  std::vector<std::shared_ptr<Job>> jobs;
  for (size_t i = 0; i < requests.size(); ++i) {
    JobRequest request;
    request.name = requests[i].name;
    request.description = requests[i].description;
    request.input = std::move(requests[i].input);  // the recipe stays for Persist
    // A sweep's request id names the sweep, not its jobs.
    auto job = std::make_shared<Job>(NewJobId(), sweep_id, std::move(request), options.owner,
                                     sweep_id.empty() ? options.request_id : "");
    absl::MutexLock job_lock(&job->mu_);
    job->reservation_ = std::move(charges[i]);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::Status JobManager::Persist(const std::vector<std::shared_ptr<Job>>& jobs,
                                 std::vector<JobRequest>& requests, const SweepRecord* sweep) {
  if (options_.store == nullptr) return absl::OkStatus();
  std::vector<std::pair<JobRecord, std::string>> rows;
  for (size_t i = 0; i < jobs.size(); ++i) {
    absl::MutexLock lock(&jobs[i]->mu_);
    rows.emplace_back(jobs[i]->Record(), std::move(requests[i].recipe));
  }
  absl::Status s = options_.store->Add(rows, sweep);
  if (s.ok()) return s;
  if (metrics_ != nullptr) metrics_->RecordStoreError("submit");
  return absl::Status(s.code(), absl::StrCat("the job could not be stored durably, so it was not "
                                             "accepted; retry later: ",
                                             s.message()));
}

void JobManager::Unpersist(const std::vector<std::string>& ids) {
  if (options_.store == nullptr) return;
  for (const std::string& id : ids) {
    absl::Status s = options_.store->Delete(id);
    if (!s.ok()) {
      std::fprintf(stderr, "actserve: forgetting %s in the job store: %s\n", id.c_str(),
                   std::string(s.message()).c_str());
      if (metrics_ != nullptr) metrics_->RecordStoreError("delete");
    }
  }
}

void JobManager::Hold(const std::shared_ptr<Job>& job, bool active) {
  const int64_t seq = next_seq_++;
  jobs_[seq] = job;
  seq_[job->id()] = seq;
  if (active && !job->owner_.empty()) {
    active_owner_[job->id()] = job->owner_;
    ++active_by_owner_[job->owner_];
  }
}

void JobManager::Enqueue(const std::shared_ptr<Job>& job) {
  Hold(job, /*active=*/true);
  queue_.push_back(job);
  if (metrics_ != nullptr) metrics_->RecordJobSubmitted();
}

absl::StatusOr<JobView> JobManager::Submit(JobRequest request, SubmitOptions options) {
  std::vector<JobRequest> requests;
  requests.push_back(std::move(request));
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<MemoryBudget::Reservation> charges,
                            ChargeEstimates(requests, std::move(options.generation)));
  absl::MutexLock submit_lock(&submit_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (std::optional<std::string> first = Submitted(options.request_id)) {
      if (std::shared_ptr<Job> job = Lookup(*first)) return job->View(false);
    }
    ACTSERVE_RETURN_IF_ERROR(CheckRoom(1, options.deadline, options.owner));
  }
  std::vector<std::shared_ptr<Job>> jobs = MakeJobs(requests, "", std::move(charges), options);
  ACTSERVE_RETURN_IF_ERROR(Persist(jobs, requests, nullptr));
  absl::MutexLock lock(&mu_);
  // Only draining or the deadline can refuse now (submits are serialized): forget the stored job.
  if (absl::Status room = CheckRoom(1, options.deadline, options.owner); !room.ok()) {
    Unpersist({jobs[0]->id()});
    return room;
  }
  Enqueue(jobs[0]);
  if (!options.request_id.empty()) request_ids_[options.request_id] = jobs[0]->id();
  return jobs[0]->View(false);
}

absl::StatusOr<SweepView> JobManager::SubmitSweep(std::vector<JobRequest> requests,
                                                  std::string description, SubmitOptions options) {
  // Every job is charged before any is queued: a refusal releases them all.
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<MemoryBudget::Reservation> charges,
                            ChargeEstimates(requests, std::move(options.generation)));
  const int count = static_cast<int>(requests.size());
  absl::MutexLock submit_lock(&submit_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (std::optional<std::string> first = Submitted(options.request_id)) {
      auto it = sweeps_.find(*first);
      if (it != sweeps_.end()) {
        return SweepView{
            .id = *first, .description = it->second.description, .jobs = it->second.jobs};
      }
    }
    ACTSERVE_RETURN_IF_ERROR(CheckRoom(count, options.deadline, options.owner));
  }
  SweepView sweep{.id = NewSweepId(), .description = std::move(description)};
  std::vector<std::shared_ptr<Job>> jobs =
      MakeJobs(requests, sweep.id, std::move(charges), options);
  SweepRecord record{
      .id = sweep.id, .description = sweep.description, .request_id = options.request_id};
  std::vector<std::string> ids;
  for (const auto& job : jobs) {
    absl::MutexLock job_lock(&job->mu_);
    record.jobs.push_back(job->Record());
    ids.push_back(job->id());
  }
  ACTSERVE_RETURN_IF_ERROR(Persist(jobs, requests, &record));
  absl::MutexLock lock(&mu_);
  if (absl::Status room = CheckRoom(count, options.deadline, options.owner); !room.ok()) {
    Unpersist(ids);  // the sweep's row stays, naming jobs that do not exist: harmless
    return room;
  }
  for (const auto& job : jobs) {
    Enqueue(job);
    sweep.jobs.push_back(job->View(false));
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
  std::vector<std::string> forgotten;
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
    forgotten = Retain();
  }
  Unpersist(forgotten);
  // A running job's worker checks before every step: it stops within one step, and ends it (and
  // stores its end); a queued one has ended here.
  if (job->ended()) StoreEnd(*job);
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
  {
    absl::MutexLock lock(&mu_);
    auto seq = seq_.find(id);
    if (seq != seq_.end()) {
      jobs_.erase(seq->second);
      seq_.erase(seq);
    }
  }
  Unpersist({id});
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
    std::vector<std::string> forgotten;
    {
      absl::MutexLock lock(&mu_);
      --running_;
      LeaveActive(*job);  // if RunJob did not (a job suspended at shutdown); a no-op otherwise
      forgotten = Retain();
    }
    Unpersist(forgotten);
  }
}

void JobManager::RunJob(const std::shared_ptr<Job>& job, Backend& backend) {
  std::unique_ptr<JobInput> input;
  std::string checkpoint;
  {
    absl::MutexLock lock(&job->mu_);
    if (job->state_ != JobState::kQueued) return;  // cancelled meanwhile
    job->state_ = JobState::kRunning;
    if (job->start_time_ == absl::InfinitePast()) job->start_time_ = absl::Now();
    input = std::move(job->input_);
    checkpoint = job->checkpoint_;
  }
  JobStore* const store = options_.store;
  if (store != nullptr) Store(*job, nullptr, "update").IgnoreError();  // logged
  job->Notify();
  // A job the server stopped while it ran resumes from its last checkpoint.
  std::optional<train::TrainCheckpoint> resume;
  if (store != nullptr && !checkpoint.empty()) {
    absl::StatusOr<train::TrainCheckpoint> read = store->ReadCheckpoint(checkpoint);
    if (!read.ok()) {
      input.reset();
      Finish(*job,
             absl::DataLossError(absl::StrFormat(
                 "the job could not resume after a restart: its checkpoint %s: %s; submit it "
                 "again",
                 checkpoint, read.status().message())),
             0);
      StoreEnd(*job);
      job->Notify();
      return;
    }
    resume = *std::move(read);
  }
  int64_t last_step = resume.has_value() ? resume->step : 0;
  train::TrainOptions options;
  options.backend = &backend;
  if (input->cuda) {
    options.engine = [device = options_.cuda_device](const train::TrainSpec& spec) {
      return NewCudaEngine(spec, {.device = device});
    };
  }
  options.max_wall_time = input->max_wall_time;
  options.stop_requested = [this, &job] {
    return job->cancel_requested_.load() || suspending_.load();
  };
  options.on_progress = [&](const train::Progress& p) {
    {
      absl::MutexLock lock(&job->mu_);
      job->reports_.push_back(p);
    }
    if (metrics_ != nullptr) metrics_->RecordTrainingSteps(p.step - last_step);
    last_step = p.step;
    job->Notify();
  };
  options.resume_from = resume.has_value() ? &*resume : nullptr;
  // The last checkpoint (or the start): when the next is due.
  int64_t checkpoint_step = last_step;
  absl::Time checkpoint_time = absl::Now();
  if (store != nullptr) {
    // A suspended job (the server is stopping) checkpoints where it stops: none of its work
    // is redone at the next start.
    options.checkpoint_due = [&, this](int64_t step) {
      if (job->cancel_requested_.load()) return false;
      if (suspending_.load()) return step > checkpoint_step;
      return step - checkpoint_step >= options_.checkpoint_steps &&
             absl::Now() - checkpoint_time >= options_.checkpoint_interval;
    };
    options.on_checkpoint = [&, this, store](const train::TrainCheckpoint& c) {
      const absl::Time begin = absl::Now();
      checkpoint_step = c.step;  // a failed one is retried at the next due point
      checkpoint_time = begin;
      absl::StatusOr<std::string> name = store->WriteCheckpoint(job->id(), c.step, c);
      if (!name.ok()) {
        std::fprintf(stderr, "actserve: checkpointing %s: %s\n", job->id().c_str(),
                     std::string(name.status().message()).c_str());
        if (metrics_ != nullptr) metrics_->RecordStoreError("checkpoint");
        return;
      }
      std::string previous;
      {
        absl::MutexLock lock(&job->mu_);
        previous = std::exchange(job->checkpoint_, *name);
        job->checkpoint_step_ = c.step;
      }
      if (!Store(*job, nullptr, "checkpoint").ok()) {  // the store still names `previous`
        absl::MutexLock lock(&job->mu_);
        job->checkpoint_ = previous;
        store->RemoveCheckpoint(*name);
        return;
      }
      if (!previous.empty() && previous != *name) store->RemoveCheckpoint(previous);
      if (metrics_ != nullptr)
        metrics_->RecordCheckpoint(absl::ToDoubleSeconds(absl::Now() - begin));
    };
  }
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
  if (suspending_.load() && !job->cancel_requested_.load()) {
    // Stopped for the server's shutdown: the store keeps it running, to resume at the next start.
    absl::MutexLock lock(&job->mu_);
    job->reservation_.Release();
    return;
  }
  {
    // The job ends and leaves its tenant's count together: a client told of the end (CancelJob
    // answers then) may submit again at once.
    absl::MutexLock lock(&mu_);
    Finish(*job, std::move(result), last_step);
    LeaveActive(*job);
  }
  StoreEnd(*job);
  job->Notify();
}

absl::Status JobManager::Store(Job& job, const JobOutcome* outcome, const char* operation) {
  JobStore* const store = options_.store;
  JobRecord record;
  int64_t first;
  std::vector<train::Progress> reports;
  std::string checkpoint;
  {
    absl::MutexLock lock(&job.mu_);
    record = job.Record();
    first = job.reports_stored_;
    reports.assign(job.reports_.begin() + first, job.reports_.end());
    if (outcome != nullptr) {
      record.checkpoint.clear();
      checkpoint = job.checkpoint_;
    }
  }
  absl::Status s = outcome != nullptr ? store->Finish(record, *outcome, first, reports)
                                      : store->Update(record, first, reports);
  if (absl::IsNotFound(s)) {  // deleted meanwhile: nothing to keep
    if (!checkpoint.empty()) store->RemoveCheckpoint(checkpoint);
    return s;
  }
  if (!s.ok()) {
    std::fprintf(stderr, "actserve: storing %s (%s): %s\n", job.id().c_str(), operation,
                 std::string(s.message()).c_str());
    if (metrics_ != nullptr) metrics_->RecordStoreError(operation);
    return s;
  }
  absl::MutexLock lock(&job.mu_);
  job.reports_stored_ = first + static_cast<int64_t>(reports.size());
  if (outcome != nullptr) {
    job.checkpoint_.clear();
    if (!checkpoint.empty()) store->RemoveCheckpoint(checkpoint);
  }
  return s;
}

void JobManager::StoreEnd(Job& job) {
  if (options_.store == nullptr) return;
  JobOutcome outcome;
  {
    absl::MutexLock lock(&job.mu_);
    outcome.result = job.result_;
    outcome.weights = job.weights_;
  }
  Store(job, &outcome, "finish").IgnoreError();  // logged; a restart trains it again
}

void JobManager::Recover() {
  JobStore* const store = options_.store;
  absl::StatusOr<JobStore::Contents> contents = store->Load();
  if (!contents.ok()) {
    std::fprintf(stderr, "actserve: reading the job store: %s\n",
                 std::string(contents.status().message()).c_str());
    return;
  }
  std::vector<std::shared_ptr<Job>> resumed, queued, ended;
  std::set<std::string> checkpoints;
  absl::MutexLock lock(&mu_);
  for (StoredJob& stored : contents->jobs) {
    auto job = std::make_shared<Job>(stored.record);
    absl::Status failure = stored.damage;
    const bool was_running = stored.record.state == JobState::kRunning;
    bool active = false;
    {
      absl::MutexLock job_lock(&job->mu_);
      job->reports_ = std::move(stored.reports);
      job->reports_stored_ = static_cast<int64_t>(job->reports_.size());
      if (failure.ok() && Ended(job->state_)) {
        job->weights_ = std::move(stored.outcome.weights);
        job->result_ = std::move(stored.outcome.result);
        const auto& first = job->weights_.empty() ? train::LayerWeights() : job->weights_[0];
        if (!first.bias.empty() && options_.rebuild_network) {
          const auto inputs = static_cast<int64_t>(first.weights.size() / first.bias.size());
          absl::StatusOr<train::TrainSpec> network =
              options_.rebuild_network(job->description_, inputs);
          if (network.ok()) {
            job->train_spec_ = *std::move(network);
          } else {
            job->weights_.clear();  // no network to use them with; the result stays
          }
        }
        job->memory_bytes_ = WeightBytes(job->weights_) + ReportBytes(job->reports_);
      } else if (failure.ok()) {
        absl::StatusOr<JobInput> input =
            options_.rebuild ? options_.rebuild(stored.recipe)
                             : absl::UnavailableError("this server cannot rebuild jobs");
        if (input.ok() && options_.budget != nullptr) {
          absl::StatusOr<MemoryBudget::Reservation> r =
              options_.budget->Reserve(static_cast<int64_t>(train::EstimateJobBytes(
                                           input->spec, input->train, input->validation)),
                                       "the recovered job");
          if (r.ok())
            job->reservation_ = *std::move(r);
          else
            input = r.status();
        }
        if (!input.ok()) {
          failure = absl::Status(input.status().code(),
                                 absl::StrCat("the job could not be restored after a restart: ",
                                              input.status().message()));
        } else {
          job->memory_bytes_ = static_cast<int64_t>(
              train::EstimateJobBytes(input->spec, input->train, input->validation));
          job->train_spec_ = input->spec;
          job->input_ = std::make_unique<JobInput>(*std::move(input));
          job->state_ = JobState::kQueued;
          if (!job->checkpoint_.empty()) checkpoints.insert(job->checkpoint_);
          if (was_running) ++job->resumed_;
          active = true;
        }
      }
      if (!failure.ok()) {
        job->error_ = failure;
        job->state_ = JobState::kFailed;
        job->end_time_ = absl::Now();
        job->memory_bytes_ = WeightBytes(job->weights_) + ReportBytes(job->reports_);
      }
    }
    Hold(job, active);
    if (!stored.record.request_id.empty()) request_ids_[stored.record.request_id] = job->id();
    if (!failure.ok()) {
      ended.push_back(job);
    } else if (active) {
      (was_running ? resumed : queued).push_back(job);
      if (was_running && metrics_ != nullptr) metrics_->RecordJobResumed();
    }
  }
  for (const auto& job : resumed) queue_.push_back(job);
  for (const auto& job : queued) queue_.push_back(job);
  for (const SweepRecord& sweep : contents->sweeps) {
    Sweep& s = sweeps_[sweep.id];
    s.description = sweep.description;
    for (const JobRecord& r : sweep.jobs) {
      s.jobs.push_back(JobView{.id = r.id,
                               .name = r.name,
                               .sweep_id = r.sweep_id,
                               .description = r.description,
                               .owner = r.owner,
                               .create_time = r.create_time});
    }
    if (!sweep.request_id.empty()) request_ids_[sweep.request_id] = sweep.id;
  }
  // Write back what changed (resumptions, failures), then drop checkpoints no job names.
  for (const auto& job : resumed) Store(*job, nullptr, "update").IgnoreError();
  for (const auto& job : ended) StoreEnd(*job);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(store->dir()) / "checkpoints", ec)) {
    if (checkpoints.count(entry.path().filename().string()) == 0) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  const std::vector<std::string> forgotten = Retain();
  for (const std::string& id : forgotten) store->Delete(id).IgnoreError();
  std::fprintf(stderr,
               "actserve: job store %s: %zu jobs recovered: %zu resumed, %zu queued, %zu failed "
               "to recover\n",
               store->dir().c_str(), contents->jobs.size(), resumed.size(), queued.size(),
               ended.size());
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

std::vector<std::string> JobManager::Retain() {
  // Request ids of forgotten jobs and sweeps are dropped once they outnumber what is kept.
  if (request_ids_.size() >
      static_cast<size_t>(2 * (options_.max_retained + options_.max_queued))) {
    for (auto it = request_ids_.begin(); it != request_ids_.end();) {
      const bool kept = seq_.count(it->second) > 0 || sweeps_.count(it->second) > 0;
      it = kept ? std::next(it) : request_ids_.erase(it);
    }
  }
  const absl::Time oldest = options_.max_age == absl::InfiniteDuration()
                                ? absl::InfinitePast()
                                : absl::Now() - options_.max_age;
  int ended = 0;
  for (const auto& [n, job] : jobs_) ended += job->ended();
  std::vector<std::string> forgotten;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    bool drop = false;
    if (it->second->ended()) {
      absl::MutexLock job_lock(&it->second->mu_);
      drop = ended > options_.max_retained || it->second->end_time_ < oldest;
    }
    if (drop) {
      forgotten.push_back(it->second->id());
      seq_.erase(it->second->id());
      it = jobs_.erase(it);
      --ended;
    } else {
      ++it;
    }
  }
  return forgotten;
}

}  // namespace actserve::server
