// Job: one training job of the JobManager, on core types: its input until it ends, its reports,
// its weights and result, its state. Shared by the manager, its worker, its watchers and
// waiters; outlives its deletion while any of them holds it. Thread-safe.
#ifndef ACTSERVE_SERVER_JOBS_JOB_H_
#define ACTSERVE_SERVER_JOBS_JOB_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kernels/train/dataset.h"
#include "kernels/train/spec.h"
#include "kernels/train/trainer.h"
#include "server/admission/memory_budget.h"
#include "server/jobs/job_state.h"
#include "server/jobs/job_store.h"

namespace actserve::server {

// A job ready to run: the core's description, its data, where it runs, and its wall-time limit.
struct JobInput {
  train::TrainSpec spec;
  train::Dataset train, validation;
  bool cuda = false;  // on the GPU; else on the CPU
  absl::Duration max_wall_time = absl::InfiniteDuration();
};

// A job to submit: its input, and what the API shows of it.
struct JobRequest {
  std::string name;
  // The job's description as the API echoes it (the API layer serializes it), opaque to the
  // manager and returned as given in every JobView.
  std::string description;
  // What rebuilds the input after a restart (JobManagerOptions::rebuild): the API's full
  // description, data included. Kept only in the durable store, never in memory.
  std::string recipe;
  JobInput input;
};

// A job as it stands when read.
struct JobView {
  std::string id, name, sweep_id, description;
  std::string owner;  // the submitting tenant (SubmitOptions::owner)
  JobState state = JobState::kQueued;
  int64_t resumed = 0;  // times it came back after the server stopped while it ran
  absl::Time create_time, start_time = absl::InfinitePast(), end_time = absl::InfinitePast();
  int64_t reports = 0;
  std::optional<train::Progress> last_progress;
  std::optional<train::TrainResult> result;  // once trained; its weights are in `weights`
  absl::Status error;                        // why it failed
  int64_t memory_bytes = 0;                  // data and buffers while it runs, then results
  // Only when asked for: the network and its weights (empty before the first step).
  train::TrainSpec spec;
  std::vector<train::LayerWeights> weights;
};

// Receives a job's updates (a new report, the end) on the thread that made them. Must not call
// back into the job's Subscribe/Unsubscribe from OnJobUpdate.
class JobListener {
 public:
  virtual ~JobListener() = default;
  virtual void OnJobUpdate() = 0;
};

class Job {
 public:
  Job(std::string id, std::string sweep_id, JobRequest request, std::string owner,
      std::string request_id);
  // A job as the durable store kept it (recovery): its record's values, no input yet.
  explicit Job(const JobRecord& record);

  const std::string& id() const { return id_; }
  JobView View(bool include_weights) const;
  bool ended() const;

  // What ReadUpdate found.
  enum class Update { kNone, kReport, kEnded };
  // Report `index` into `report` (kReport); when no such report exists yet, the job in its end
  // state into `view` if it has ended (kEnded), else kNone: more may come.
  Update ReadUpdate(int64_t index, train::Progress* report, JobView* view) const;

  void Subscribe(JobListener* listener);
  // After this returns, `listener` is never called again.
  void Unsubscribe(JobListener* listener);
  // Calls `callback` once the job has ended: at once (on this thread) if it has, else on the
  // thread that ends it, after its end state is visible. Must not block.
  void WhenEnded(std::function<void()> callback);

 private:
  friend class JobManager;

  void Notify();
  // The job's record for the durable store.
  JobRecord Record() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string id_, sweep_id_, name_, description_, owner_, request_id_;
  const absl::Time create_time_;
  std::atomic<bool> cancel_requested_{false};

  mutable absl::Mutex mu_;
  JobState state_ ABSL_GUARDED_BY(mu_) = JobState::kQueued;
  std::unique_ptr<JobInput> input_ ABSL_GUARDED_BY(mu_);  // until the job ends
  train::TrainSpec train_spec_ ABSL_GUARDED_BY(mu_);
  std::vector<train::Progress> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<train::LayerWeights> weights_ ABSL_GUARDED_BY(mu_);
  std::optional<train::TrainResult> result_ ABSL_GUARDED_BY(mu_);  // without weights
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::Time start_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time end_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The durable store's view: resumptions, the last checkpoint, reports already stored.
  int64_t resumed_ ABSL_GUARDED_BY(mu_) = 0;
  std::string checkpoint_ ABSL_GUARDED_BY(mu_);
  int64_t checkpoint_step_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reports_stored_ ABSL_GUARDED_BY(mu_) = 0;
  // The job's charge to the memory budget, given back when it ends (after its input is freed).
  MemoryBudget::Reservation reservation_ ABSL_GUARDED_BY(mu_);

  absl::Mutex listeners_mu_;
  std::vector<JobListener*> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  std::vector<std::function<void()>> when_ended_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_H_
