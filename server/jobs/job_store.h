// JobStore: the durable record of a server's training jobs, in a state directory (--state_dir):
//
//   <dir>/LOCK              held (flock) by the one live server using the directory
//   <dir>/jobs.db           SQLite 3 in WAL mode with synchronous=FULL: every accepted job's
//                           record (description, owner, state, times, resumptions, error, its
//                           last checkpoint), its recipe (the full spec, to rebuild its data),
//                           its progress reports and its outcome (result and weights)
//   <dir>/checkpoints/      one file per running job's last checkpoint (durable_file.h)
//
// Every value is a sealed record (record_codec.h): a damaged one fails its job, with the reason,
// and nothing else. A database SQLite cannot read is moved aside at open (jobs.db.damaged-<unix
// time>) and the rows it still yields are copied into a fresh one. Each method is one
// transaction: committed (and on disk) when it returns OK. Thread-safe.
#ifndef ACTSERVE_SERVER_JOBS_JOB_STORE_H_
#define ACTSERVE_SERVER_JOBS_JOB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kernels/train/checkpoint.h"
#include "kernels/train/trainer.h"
#include "server/jobs/job_state.h"

struct sqlite3;

namespace actserve::server {

// What a job's record holds; rewritten at each change of state and checkpoint.
struct JobRecord {
  std::string id, sweep_id, name, description, owner, request_id;
  JobState state = JobState::kQueued;
  absl::Time create_time, start_time = absl::InfinitePast(), end_time = absl::InfinitePast();
  int64_t resumed = 0;  // times the job came back after the server stopped while it ran
  absl::Status error;
  std::string checkpoint;  // the last checkpoint's file name in checkpoints/; empty: none
  int64_t checkpoint_step = 0;
};

// An ended job's outcome.
struct JobOutcome {
  std::optional<train::TrainResult> result;  // without weights
  std::vector<train::LayerWeights> weights;
};

// A job as Load finds it. `damage` is the first damaged part found (DATA_LOSS): then `record`
// holds what could be read (at least the id), and the parts after the damage are empty.
struct StoredJob {
  JobRecord record;
  std::string recipe;
  JobOutcome outcome;
  std::vector<train::Progress> reports;
  absl::Status damage;
};

// A sweep: its description and request id, and its jobs as submitted.
struct SweepRecord {
  std::string id, description, request_id;
  std::vector<JobRecord> jobs;
};

class JobStore {
 public:
  // Opens (creating) the directory's store. FAILED_PRECONDITION when another live process holds
  // the directory (naming its pid); PERMISSION_DENIED or UNAVAILABLE, naming the path, when it
  // cannot be created or written.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& dir);
  ~JobStore();

  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  const std::string& dir() const { return dir_; }
  // What Open salvaged from a damaged database, for the log; empty when it was sound.
  const std::string& salvage_report() const { return salvage_report_; }

  // Records new jobs with their recipes (and their sweep, if any), all or none.
  absl::Status Add(const std::vector<std::pair<JobRecord, std::string>>& jobs,
                   const SweepRecord* sweep);
  // Rewrites a job's record; `reports` (may be empty) are its reports from index `first`.
  absl::Status Update(const JobRecord& record, int64_t first,
                      const std::vector<train::Progress>& reports);
  // Rewrites a job's record with its outcome, and its reports from index `first`.
  absl::Status Finish(const JobRecord& record, const JobOutcome& outcome, int64_t first,
                      const std::vector<train::Progress>& reports);
  // Forgets a job: its row, reports and checkpoint file.
  absl::Status Delete(const std::string& id);

  // Every job, in the order they were added, and every sweep.
  struct Contents {
    std::vector<StoredJob> jobs;
    std::vector<SweepRecord> sweeps;
  };
  absl::StatusOr<Contents> Load();

  // Checkpoint files: written durably as "<id>-<step>.ckpt" (returning that name), read back
  // decoded (DATA_LOSS when damaged, NOT_FOUND when missing), removed (a missing one is fine).
  absl::StatusOr<std::string> WriteCheckpoint(const std::string& id, int64_t step,
                                              const train::TrainCheckpoint& checkpoint);
  absl::StatusOr<train::TrainCheckpoint> ReadCheckpoint(const std::string& name) const;
  void RemoveCheckpoint(const std::string& name);

  // Bytes the directory holds: the database, its write-ahead log and the checkpoints.
  int64_t bytes_used() const;

 private:
  JobStore(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  absl::Status OpenDatabase();
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PutReports(int64_t seq, int64_t first, const std::vector<train::Progress>& reports)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> SeqOf(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` in a transaction: committed if it returns OK, rolled back otherwise.
  template <typename Body>
  absl::Status Transaction(Body body) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const int lock_fd_;
  std::string salvage_report_;
  mutable absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_STORE_H_
