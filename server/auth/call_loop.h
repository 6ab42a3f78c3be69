// CallLoop: a test's background load. Calls `call` in a loop on a thread of its own until
// Stop(), counting the calls and those that failed (`call` returned false). Test-only.
#ifndef ACTSERVE_SERVER_AUTH_CALL_LOOP_H_
#define ACTSERVE_SERVER_AUTH_CALL_LOOP_H_

#include <atomic>
#include <functional>
#include <thread>
#include <utility>

namespace actserve::server::auth {

class CallLoop {
 public:
  struct Counts {
    int calls = 0;
    int failures = 0;
  };

  explicit CallLoop(std::function<bool()> call)
      : thread_([this, call = std::move(call)] {
          while (!stop_.load()) {
            if (!call()) failures_.fetch_add(1);
            calls_.fetch_add(1);
          }
        }) {}
  ~CallLoop() { Stop(); }

  // Stops after the call in progress; the counts so far.
  Counts Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return {calls_.load(), failures_.load()};
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> calls_{0}, failures_{0};
  std::thread thread_;  // last: starts once the counters exist
};

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_CALL_LOOP_H_
