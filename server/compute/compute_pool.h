// ComputePool: the fixed set of threads where the server computes what is too large to compute
// on the gRPC thread that received it (the handler path decides, server/api/handler.h), with a
// bounded queue so that overload turns into RESOURCE_EXHAUSTED instead of unbounded memory.
// Thread-safe.
#ifndef ACTSERVE_SERVER_COMPUTE_COMPUTE_POOL_H_
#define ACTSERVE_SERVER_COMPUTE_COMPUTE_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace actserve::server {

class ComputePool {
 public:
  // `threads` workers; at most `max_queued` tasks wait for one.
  ComputePool(int threads, int max_queued);
  // Runs every queued task, then joins the workers.
  ~ComputePool();

  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  // Queues `task`, or returns false (and drops it) when max_queued tasks already wait.
  bool TrySubmit(std::function<void()> task);

  // Tasks waiting, not counting those running.
  int queued() const;
  int max_queued() const { return max_queued_; }

 private:
  void Work();

  const int max_queued_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_COMPUTE_COMPUTE_POOL_H_
