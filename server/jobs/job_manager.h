// JobManager: the server's training jobs, on core types (the API layer converts protobuf at its
// edge, server/api/convert_training.h). It queues jobs, runs them on its own fixed set of worker
// threads (never on gRPC or compute-pool threads), keeps their progress for watchers, and
// cancels, lists, retains and forgets them. Thread-safe.
//
// Jobs live in memory. A job's training data and working buffers are released as soon as it
// ends (succeeded, failed or cancelled); its reports and weights stay until it is deleted or, once
// more than `max_retained` jobs have ended, the oldest ended job is dropped.
#ifndef ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_
#define ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/jobs/job.h"
#include "server/metrics/metrics.h"

namespace actserve::server {

struct JobManagerOptions {
  int workers = 2;         // jobs training at once, one thread each
  int max_queued = 64;     // jobs waiting for a worker; RESOURCE_EXHAUSTED beyond
  int max_retained = 256;  // ended jobs kept for Get, Watch and Predict
  int cuda_device = 0;     // where jobs with JobInput::cuda train
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

  // Queues a job (its input validated by the caller); RESOURCE_EXHAUSTED when max_queued jobs
  // already wait; UNAVAILABLE while draining.
  absl::StatusOr<JobView> Submit(JobRequest request);
  // Queues `jobs` as one sweep, all or none (RESOURCE_EXHAUSTED when the queue lacks room).
  absl::StatusOr<SweepView> SubmitSweep(std::vector<JobRequest> jobs, std::string description);
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
  // New submissions get UNAVAILABLE from now on.
  void StartDraining();
  // Waits until no job is queued or running, or until `deadline`; true if none is.
  bool WaitUntilIdle(absl::Time deadline) const;

  int queued() const;
  int running() const;
  // Bytes held by every job (data, buffers, weights), for the metrics.
  int64_t memory_bytes() const;

 private:
  struct Sweep {
    std::string description;
    std::vector<JobView> jobs;  // as submitted; refreshed from the jobs that still exist
  };

  void Work();
  void RunJob(const std::shared_ptr<Job>& job, Backend& backend);
  // Records the outcome of Train in the job and ends it.
  void Finish(Job& job, absl::StatusOr<train::TrainResult> result, int64_t last_step);
  // Marks `job` ended in `state`, releasing its input; records it in the metrics.
  void EndJob(Job& job, JobState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(job.mu_);
  // UNAVAILABLE while draining or stopping; RESOURCE_EXHAUSTED without room for `count` jobs.
  absl::Status CheckRoom(int count, const char* what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates a job with the next id and queues it; the caller has checked the queue's room.
  std::shared_ptr<Job> Enqueue(JobRequest request, const std::string& sweep_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the oldest ended jobs beyond max_retained.
  void Retain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const JobManagerOptions options_;
  Metrics* const metrics_;

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  // By number, so that iteration is creation order.
  std::map<int64_t, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Sweep> sweeps_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_MANAGER_H_
