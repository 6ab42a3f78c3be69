// JobManager: the server's training jobs, on core types (the API layer converts protobuf at its
// edge, server/api/convert_training.h). It queues jobs, runs them on its own fixed set of worker
// threads (never on gRPC or compute-pool threads), keeps their progress for watchers, and
// cancels, lists, retains and forgets them. Thread-safe.
//
// Without a store, jobs live in memory only. A job's training data and working buffers are
// released as soon as it ends (succeeded, failed or cancelled); its reports and weights stay
// until it is deleted or, once more than `max_retained` jobs have ended (or one ended longer than
// `max_age` ago), the oldest ended job is dropped.
//
// With a store (JobManagerOptions::store, --state_dir), every accepted job is in it before Submit
// returns, and so are its start, its checkpoints (with the reports made so far) and its end. At
// construction the manager recovers the store's jobs: ended ones as they were; queued ones queued
// again in their order, after the ones that were running, which resume from their last checkpoint
// (or their first step) and end exactly as an uninterrupted run would (training is
// deterministic). A write that fails is logged and counted, and costs work, never a job: a failed
// checkpoint is retried at the next one; a failed end record leaves the store's earlier state, so
// a restart trains the job again to the same end. A damaged record or checkpoint fails its job
// alone, with DATA_LOSS and the reason. Stopping the manager (Suspend, the destructor) leaves
// queued and running jobs in the store for the next start.
#ifndef ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_
#define ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/admission/memory_budget.h"
#include "server/jobs/job.h"
#include "server/jobs/job_store.h"
#include "server/metrics/metrics.h"

namespace actserve::server {

struct JobManagerOptions {
  int workers = 2;         // jobs training at once, one thread each
  int max_queued = 64;     // jobs waiting for a worker; RESOURCE_EXHAUSTED beyond
  int max_retained = 256;  // ended jobs kept for Get, Watch and Predict
  int cuda_device = 0;     // where jobs with JobInput::cuda train
  // Queued and running jobs one owner (SubmitOptions::owner, a tenant) may have at once;
  // RESOURCE_EXHAUSTED beyond. 0: no limit.
  int max_active_per_owner = 0;
  // Every job is charged its estimate (train::EstimateJobBytes) here before it is queued, and
  // holds it until it ends; null: no budget.
  MemoryBudget* budget = nullptr;
  // Ended jobs older than this are dropped (with max_retained).
  absl::Duration max_age = absl::InfiniteDuration();
  // The durable store (must outlive the manager); null: jobs live in memory only.
  JobStore* store = nullptr;
  // A running job is checkpointed once both this many steps and this much time have passed
  // since its last checkpoint (or its start).
  int64_t checkpoint_steps = 500;
  absl::Duration checkpoint_interval = absl::Seconds(10);
  // Rebuilds a stored job's input from its JobRequest::recipe at recovery; an error fails the job
  // with that reason. Required with a store.
  std::function<absl::StatusOr<JobInput>(const std::string& recipe)> rebuild;
  // An ended job's network from its JobRequest::description and input width (its weights give
  // it), for its weights and Predict after a restart. Required with a store.
  std::function<absl::StatusOr<train::TrainSpec>(const std::string& description, int64_t inputs)>
      rebuild_network;
};

// What a submit carries besides its jobs. Move-only (it holds a reservation).
struct SubmitOptions {
  // The client's request id (empty: none), scoped by the caller (the API prefixes the tenant):
  // a second submit with an id whose job or sweep is still retained gets that one back.
  std::string request_id;
  absl::Time deadline = absl::InfiniteFuture();  // the call's; past it nothing is created
  // Who submits (the caller's tenant), for JobManagerOptions::max_active_per_owner; empty: not
  // metered.
  std::string owner;
  // The charge taken (see ChargeGeneration) for generating the jobs' data; released when the
  // jobs' estimates, which include their data, replace it.
  MemoryBudget::Reservation generation;
};

// A sweep: jobs submitted together.
struct SweepView {
  std::string id;
  // The sweep's description as the API echoes it, opaque to the manager.
  std::string description;
  std::vector<JobView> jobs;  // a deleted job as it was last seen
};

// The network a job trained, for Predict.
struct TrainedNetwork {
  train::TrainSpec spec;
  std::vector<train::LayerWeights> weights;
};

// The NOT_FOUND statuses for a job id and a sweep id this server does not know (or that the
// caller may not see: another tenant's).
absl::Status UnknownJob(const std::string& id);
absl::Status UnknownSweep(const std::string& id);

class JobManager {
 public:
  // `metrics` may be null (no metrics) and must outlive the manager.
  JobManager(const JobManagerOptions& options, Metrics* metrics);
  // Cancels every job still queued or running and joins the workers.
  ~JobManager();

  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Before a submit's jobs are converted (which generates their data): the id of the job or
  // sweep that `options.request_id` already created, if any; else the refusal Submit would give
  // now (below) for `jobs` jobs, or nullopt.
  absl::StatusOr<std::optional<std::string>> CheckSubmit(const SubmitOptions& options, int jobs);
  // Charges the budget `bytes` for generating a submit's data, before it is generated
  // (RESOURCE_EXHAUSTED naming `what` when they do not fit); an empty reservation without a
  // budget. Pass it to Submit or SubmitSweep in SubmitOptions::generation.
  absl::StatusOr<MemoryBudget::Reservation> ChargeGeneration(int64_t bytes,
                                                             const std::string& what);
  // Queues a job (its input validated by the caller): RESOURCE_EXHAUSTED when max_queued jobs
  // already wait or the memory budget cannot hold its estimate (held until it ends);
  // UNAVAILABLE while draining; DEADLINE_EXCEEDED, creating nothing, once `options.deadline`
  // has passed. A request id seen before (its job still retained) returns that job instead.
  absl::StatusOr<JobView> Submit(JobRequest request, SubmitOptions options = {});
  // Queues `jobs` as one sweep, queued and charged all or none; the rest as Submit.
  absl::StatusOr<SweepView> SubmitSweep(std::vector<JobRequest> jobs, std::string description,
                                        SubmitOptions options = {});
  // NOT_FOUND for an unknown id (the error names it).
  absl::StatusOr<SweepView> GetSweep(const std::string& id) const;

  // NOT_FOUND for an unknown id (the error names it).
  absl::StatusOr<std::shared_ptr<Job>> Find(const std::string& id) const;
  std::vector<JobView> List() const;
  // Cancels a queued job at once, and asks a running one to stop before its next step; returns
  // the job without waiting for that (see Job::WhenEnded). FAILED_PRECONDITION if it has
  // already ended.
  absl::StatusOr<std::shared_ptr<Job>> Cancel(const std::string& id);
  // Cancels the job if needed (without waiting) and forgets it.
  absl::Status Delete(const std::string& id);
  // The network of an ended job with weights, for Predict: FAILED_PRECONDITION while it has
  // none (queued, running, or failed before its first step).
  absl::StatusOr<TrainedNetwork> Trained(const std::string& id) const;

  // Cancels every queued and running job (running ones stop before their next step).
  void CancelAll();
  // Stops the workers' jobs before their next step and forgets the queue without ending any job
  // in the store: the next server on the state directory resumes them. Without a store, CancelAll.
  void Suspend();
  // New submissions get UNAVAILABLE from now on.
  void StartDraining();
  // Waits until no job is queued or running, or until `deadline`; true if none is.
  bool WaitUntilIdle(absl::Time deadline) const;

  int queued() const;
  int running() const;
  // Bytes held by every job (data, buffers, weights), for the metrics.
  int64_t memory_bytes() const;
  // Submits refused per owner because of max_active_per_owner, for the metrics.
  std::map<std::string, int64_t> owner_rejections() const;

 private:
  struct Sweep {
    std::string description;
    std::vector<JobView> jobs;  // as submitted; refreshed from the jobs that still exist
  };

  void Work();
  void RunJob(const std::shared_ptr<Job>& job, Backend& backend);
  // Reads the store back (construction, with a store).
  void Recover();
  // Writes `job`'s record and its reports not yet stored; with `outcome`, as ended (and removes
  // its checkpoint). A deleted job's write is skipped. Failures are logged and counted as
  // `operation` in the metrics, and returned.
  absl::Status Store(Job& job, const JobOutcome* outcome, const char* operation);
  // Records the end of a job that ended in memory (no-op without a store or while suspended).
  void StoreEnd(Job& job);
  // Creates jobs with fresh ids (job_id.h), not yet queued.
  std::vector<std::shared_ptr<Job>> MakeJobs(std::vector<JobRequest>& requests,
                                             const std::string& sweep_id,
                                             std::vector<MemoryBudget::Reservation> charges,
                                             const SubmitOptions& options);
  // Adds new jobs (and their sweep) to the store, all or none; OK without a store.
  absl::Status Persist(const std::vector<std::shared_ptr<Job>>& jobs,
                       std::vector<JobRequest>& requests, const SweepRecord* sweep);
  // Removes forgotten jobs from the store.
  void Unpersist(const std::vector<std::string>& ids);
  // Records the outcome of Train in the job and ends it.
  void Finish(Job& job, absl::StatusOr<train::TrainResult> result, int64_t last_step);
  // Marks `job` ended in `state`, releasing its input; records it in the metrics.
  void EndJob(Job& job, JobState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(job.mu_);
  // UNAVAILABLE while draining or stopping; DEADLINE_EXCEEDED past `deadline`;
  // RESOURCE_EXHAUSTED without room for `count` jobs.
  // RESOURCE_EXHAUSTED too when `owner` would have more than max_active_per_owner jobs (counted
  // in owner_rejections_).
  absl::Status CheckRoom(int count, absl::Time deadline, const std::string& owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `job` is no longer queued or running: its owner's count goes down.
  void LeaveActive(const Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The job or sweep id `request_id` created, if it is still retained.
  std::optional<std::string> Submitted(const std::string& request_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Charges the estimate of each request, all or none, after releasing `generation`.
  absl::StatusOr<std::vector<MemoryBudget::Reservation>> ChargeEstimates(
      const std::vector<JobRequest>& requests, MemoryBudget::Reservation generation);
  // Queues a job made by MakeJobs; the caller has checked the room.
  void Enqueue(const std::shared_ptr<Job>& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds `job` to the jobs held (not the queue), counting it active for its owner if `active`.
  void Hold(const std::shared_ptr<Job>& job, bool active) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The job of `id`, compared exactly; null if none.
  std::shared_ptr<Job> Lookup(const std::string& id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the oldest ended jobs beyond max_retained, and those past max_age; returns their ids
  // for Unpersist (after mu_ is released).
  std::vector<std::string> Retain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const JobManagerOptions options_;
  Metrics* const metrics_;

  // Held across a submit's store write and its queueing: the store's order is the queue's.
  absl::Mutex submit_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Suspend: running jobs stop, and their end is not stored.
  std::atomic<bool> suspending_{false};
  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  // By creation sequence, so that iteration is creation order; `seq_` finds a job's sequence
  // from its id.
  std::map<int64_t, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> seq_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Sweep> sweeps_ ABSL_GUARDED_BY(mu_);
  // Request ids -> the job or sweep id their first submit created.
  std::map<std::string, std::string> request_ids_ ABSL_GUARDED_BY(mu_);
  // Owners' queued and running jobs: job id -> owner, and each owner's count.
  std::map<std::string, std::string> active_owner_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> active_by_owner_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> owner_rejections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_
