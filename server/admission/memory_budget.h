// MemoryBudget: the one bound on the memory that the server's units of work (activation calls,
// stream messages, training jobs) may hold at once. Work is charged its bytes before it
// allocates, through a Reservation that gives them back when it is destroyed; a charge that does
// not fit is refused at once with RESOURCE_EXHAUSTED saying what was asked and what is free. The
// budget knows nothing of gRPC: the handlers and the job manager charge it with core sizes.
//
// Thread-safe: every method may be called from any thread.
#ifndef ACTSERVE_SERVER_ADMISSION_MEMORY_BUDGET_H_
#define ACTSERVE_SERVER_ADMISSION_MEMORY_BUDGET_H_

#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace actserve::server {

// The memory this process may use and where that bound comes from: the smallest of the cgroup
// memory limit (v2 `memory.max`, else v1 `memory.limit_in_bytes`, of this process's cgroup and
// its ancestors), RLIMIT_AS and the physical memory.
struct MemoryLimit {
  int64_t bytes = 0;
  std::string source;  // "cgroup v2 memory.max", "cgroup v1 ...", "RLIMIT_AS", "physical memory"
};
MemoryLimit ProcessMemoryLimit();

// The cgroup limit alone, read below `sys_fs_cgroup` (normally /sys/fs/cgroup) for the cgroup
// named in `proc_self_cgroup` (normally /proc/self/cgroup); 0 when there is none (no cgroup
// file, "max", or a v1 limit of 2^62 or more, which means none). `source` says which file.
int64_t CgroupMemoryLimit(const std::string& proc_self_cgroup, const std::string& sys_fs_cgroup,
                          std::string* source);

// The default of --max_memory_bytes: kDefaultBudgetFraction of ProcessMemoryLimit(). The rest
// is the server's own: code, thread stacks, gRPC's buffers, the allocator's slack.
inline constexpr double kDefaultBudgetFraction = 0.5;
int64_t DefaultMaxMemoryBytes();

// "256.0 MiB": a byte count as people read it, for messages.
std::string HumanBytes(int64_t bytes);

class MemoryBudget {
 public:
  // `capacity` bytes in all (clamped to >= 0).
  explicit MemoryBudget(int64_t capacity);
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Bytes charged to the budget while it lives; movable, not copyable. Destroying it (or
  // Release()) gives them back. Declare it before the buffers it pays for, so that it is
  // destroyed after them. A default-constructed one holds nothing. It must not outlive its
  // budget.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation() { Release(); }
    int64_t bytes() const { return bytes_; }
    void Release();

   private:
    friend class MemoryBudget;
    Reservation(MemoryBudget* budget, int64_t bytes) : budget_(budget), bytes_(bytes) {}
    MemoryBudget* budget_ = nullptr;
    int64_t bytes_ = 0;
  };

  // Charges `bytes` for `what` (a short description such as "Forward" or "job job-3f2a...",
  // used in the message). RESOURCE_EXHAUSTED when it does not fit in what is free:
  // "Forward needs 256.0 MiB (268435456 bytes) of memory but 100.0 MiB of the server's 1.0 GiB
  // budget is free (--max_memory_bytes); retry later or send less". INVALID_ARGUMENT for a
  // negative count; zero bytes always succeed.
  absl::StatusOr<Reservation> Reserve(int64_t bytes, absl::string_view what);

  struct Stats {
    int64_t capacity = 0;
    int64_t reserved = 0;       // bytes charged now
    int64_t peak_reserved = 0;  // the most ever charged at once
    int64_t reservations = 0;   // charges granted, in all
    int64_t rejections = 0;     // charges refused, in all
  };
  Stats stats() const;
  int64_t capacity() const { return capacity_; }

  // Releases of at least this many bytes then ask the allocator to return free memory to the
  // system (glibc's malloc_trim), so that the process's memory falls back to its idle level
  // after large requests.
  static constexpr int64_t kTrimThreshold = int64_t{32} << 20;

 private:
  void Give(int64_t bytes);

  const int64_t capacity_;
  mutable absl::Mutex mu_;
  int64_t reserved_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t peak_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reservations_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejections_ ABSL_GUARDED_BY(mu_) = 0;
};

// Returns the allocator's free memory to the system (malloc_trim(0) on glibc).
void TrimFreeMemory();

// Calls TrimFreeMemory() on its own thread, at most once per `period`, when `budget` granted or
// refused charges since the last time: memory that gRPC's buffers and finished work freed goes
// back to the system once the load passes (a refused large request frees its buffer after the
// refusal, where no release of the budget sees it). Stops when destroyed.
class MemoryTrimmer {
 public:
  MemoryTrimmer(const MemoryBudget& budget, absl::Duration period);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ADMISSION_MEMORY_BUDGET_H_
