// JobManager: the server's training jobs. It validates and queues jobs, runs them on its own
// fixed set of worker threads (never on gRPC threads), keeps their progress for watchers, and
// cancels, lists, retains and forgets them. Thread-safe.
//
// Jobs live in memory. A job's training data and working buffers are released as soon as it
// ends (succeeded, failed or cancelled); its reports and weights stay until it is deleted or, once
// more than `max_retained` jobs have ended, the oldest ended job is dropped.
#ifndef ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_
#define ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kernels/backend.h"
#include "proto/actserve/v1/training_service.pb.h"
#include "server/admission/memory_budget.h"
#include "server/api/convert_training.h"
#include "server/metrics/metrics.h"

namespace actserve::server {

struct JobManagerOptions {
  int workers = 2;         // jobs training at once, one thread each
  int max_queued = 64;     // jobs waiting for a worker; RESOURCE_EXHAUSTED beyond
  int max_retained = 256;  // ended jobs kept for Get, Watch and Predict
  TrainingLimits limits;
  Backends backends;  // for the description's backend field
  // Every job is charged its estimate (train::EstimateJobBytes) here before it is queued, and
  // holds it until it ends; null: no budget.
  MemoryBudget* budget = nullptr;
};

// What a submit carries besides the job: the client's request id (empty: none) and the call's
// deadline.
struct SubmitOptions {
  std::string request_id;
  absl::Time deadline = absl::InfiniteFuture();
};

// Receives a job's updates (a new report, the end) on the thread that made them. Must not call
// back into the job's Subscribe/Unsubscribe from OnJobUpdate.
class JobListener {
 public:
  virtual ~JobListener() = default;
  virtual void OnJobUpdate() = 0;
};

// One job. Shared by the manager, its worker and its watchers; outlives its deletion while
// any of them holds it.
class Job {
 public:
  Job(std::string id, std::string sweep_id, v1::JobSpec spec, JobInput input);

  const std::string& id() const { return id_; }
  // The job as the API shows it; weights only if asked.
  v1::Job ToProto(bool include_weights) const;
  // Report `index` into `out` (true), or when no such report exists yet: the job in its end state
  // if it has ended (true, *ended set), or false if more may come.
  bool ReadUpdate(int64_t index, v1::WatchJobResponse* out, bool* ended) const;
  bool ended() const;

  void Subscribe(JobListener* listener);
  // After this returns, `listener` is never called again.
  void Unsubscribe(JobListener* listener);
  // Calls `callback` once the job has ended: at once (on this thread) if it has, else on the
  // thread that ends it, after its end state is visible. Must not block.
  void WhenEnded(std::function<void()> callback);

 private:
  friend class JobManager;

  void Notify();

  const std::string id_, sweep_id_;
  const v1::JobSpec spec_;  // without inline data
  const absl::Time create_time_;
  std::atomic<bool> cancel_requested_{false};

  mutable absl::Mutex mu_;
  v1::JobState state_ ABSL_GUARDED_BY(mu_) = v1::JOB_STATE_QUEUED;
  std::unique_ptr<JobInput> input_ ABSL_GUARDED_BY(mu_);  // until the job ends
  train::TrainSpec train_spec_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Progress> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<train::LayerWeights> weights_ ABSL_GUARDED_BY(mu_);
  v1::Result result_ ABSL_GUARDED_BY(mu_);
  bool has_result_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::Time start_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time end_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The job's charge to the memory budget, given back when it ends (after its input is freed).
  MemoryBudget::Reservation reservation_ ABSL_GUARDED_BY(mu_);

  absl::Mutex listeners_mu_;
  std::vector<JobListener*> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  std::vector<std::function<void()>> when_ended_ ABSL_GUARDED_BY(listeners_mu_);
};

class JobManager {
 public:
  // `metrics` may be null (no metrics) and must outlive the manager.
  JobManager(const JobManagerOptions& options, Metrics* metrics);
  // Cancels every job still queued or running and joins the workers.
  ~JobManager();

  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Validates and queues a job (see ToJobInput for the errors); RESOURCE_EXHAUSTED when
  // max_queued jobs already wait or the memory budget cannot hold the job's estimate (charged
  // before its data is generated, then held until it ends); UNAVAILABLE while draining;
  // DEADLINE_EXCEEDED, creating nothing, once `options.deadline` has passed. A request id seen
  // before (and whose job is still retained) returns that job instead of a new one.
  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec, const SubmitOptions& options = {});
  // One job per activation, queued and charged all or none; request ids and deadlines as Submit.
  absl::StatusOr<v1::Sweep> SubmitSweep(const v1::SubmitSweepRequest& request,
                                        const SubmitOptions& options = {});
  absl::StatusOr<v1::Sweep> GetSweep(const std::string& id) const;

  // NOT_FOUND for an unknown id (the error names it).
  absl::StatusOr<std::shared_ptr<Job>> Find(const std::string& id) const;
  std::vector<v1::Job> List() const;
  // Cancels a queued job at once, and asks a running one to stop before its next step; returns
  // the job without waiting for that (see Job::WhenEnded). FAILED_PRECONDITION if it has
  // already ended.
  absl::StatusOr<std::shared_ptr<Job>> Cancel(const std::string& id);
  // Cancels the job if needed (without waiting) and forgets it.
  absl::Status Delete(const std::string& id);
  // The network of an ended job with weights, for Predict: FAILED_PRECONDITION while it has
  // none (queued, running, or failed before its first step).
  absl::Status TrainedNetwork(const std::string& id, train::TrainSpec* spec,
                              std::vector<train::LayerWeights>* weights) const;

  // Cancels every queued and running job (running ones stop before their next step).
  void CancelAll();
  // New submissions get UNAVAILABLE from now on.
  void StartDraining();
  // Waits until no job is queued or running, or until `deadline`; true if none is.
  bool WaitUntilIdle(absl::Time deadline) const;

  int queued() const;
  int running() const;
  // Bytes held by every job (data, buffers, weights), for the metrics.
  int64_t memory_bytes() const;

 private:
  void Work();
  void RunJob(const std::shared_ptr<Job>& job, Backend& backend);
  // Marks `job` ended in `state`, releasing its input; records it in the metrics.
  void EndJob(Job& job, v1::JobState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(job.mu_);
  // Creates a job with a fresh id and queues it; the caller has checked the queue's room.
  std::shared_ptr<Job> Enqueue(const v1::JobSpec& spec, JobInput input, const std::string& sweep_id,
                               MemoryBudget::Reservation reservation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Converts a job, charging the budget first for the data it generates, then for its estimate.
  absl::StatusOr<std::pair<JobInput, MemoryBudget::Reservation>> Admit(const v1::JobSpec& spec,
                                                                       const std::string& what);
  // The job of `id`, compared exactly; null if none.
  std::shared_ptr<Job> Lookup(const std::string& id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refuses a submit of `jobs` jobs whose deadline passed, that arrives while draining, or that
  // the queue has no room for.
  absl::Status CheckSubmit(const SubmitOptions& options, int jobs) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the oldest ended jobs beyond max_retained.
  void Retain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const JobManagerOptions options_;
  Metrics* const metrics_;

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  // By creation sequence, so that iteration is creation order; `seq_` finds a job's sequence
  // from its id (job_id.h).
  std::map<int64_t, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> seq_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::Sweep> sweeps_ ABSL_GUARDED_BY(mu_);
  // Client request ids -> the job or sweep id their first submit created.
  std::map<std::string, std::string> request_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_
