// Runner: drives a Driver in closed or open loop for one run and collects the results.
//
// Closed loop: `schedule` gives the concurrency over time; each call that ends is followed at
// once by the next while fewer than the asked number are in flight. Latency is measured from
// the call's send.
// Open loop: `schedule` gives the arrival rate (constant spacing or Poisson); each arrival is
// due at its intended time whatever the state of earlier calls, and its latency is measured
// from that intended time, so a stalled server is charged for all the calls it delayed
// (coordinated omission corrected). At most `max_in_flight` calls are sent at once; arrivals
// beyond wait in a backlog, still timed from their intended time, and the report says so.
//
// The run lasts warmup + the schedule's length (or `duration` for a constant one), or until
// `requests` measured calls have been sent; the warm-up's calls are not recorded. Calls still in
// flight at the end are awaited (they are bounded by their deadline) and recorded.
#ifndef ACTSERVE_CLIENT_ACTLOAD_RUNNER_H_
#define ACTSERVE_CLIENT_ACTLOAD_RUNNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "client/actload/driver.h"
#include "client/actload/histogram.h"
#include "client/actload/report.pb.h"
#include "client/actload/schedule.h"

namespace actserve::actload {

struct RunOptions {
  bool open_loop = false;
  bool poisson = false;
  Schedule schedule = Schedule::Constant(1);
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);  // for a constant schedule
  int64_t requests = 0;                         // 0: no limit
  int64_t max_in_flight = 10000;                // open loop
  double max_error_rate = 1;                    // stop when errors/calls exceed it (> 1: never)
  int64_t min_calls_for_error_rate = 100;
  bool backoff = false;  // pause after UNAVAILABLE / RESOURCE_EXHAUSTED
  absl::Duration backoff_base = absl::Milliseconds(10);
  absl::Duration backoff_max = absl::Seconds(1);
  absl::Duration interval = absl::Seconds(1);
  uint64_t seed = 1;
  int first_messages = 3;  // distinct messages kept per code
  // Called at each interval's end with it, from the Runner's thread (progress lines, CSV).
  std::function<void(const Interval&)> on_interval;
  // Set to stop early (e.g. by SIGINT); polled every few milliseconds.
  const volatile int* interrupted = nullptr;
};

// What a run measured; the Report fields are filled except target/workload/server/sweep.
struct RunResult {
  Report report;
  Histogram latency_ns;  // every recorded call
};

// Runs `driver` (made with `sink` = the Runner; see MakeRunnerAndDriver) under `options`.
class Runner : public CompletionSink {
 public:
  explicit Runner(RunOptions options);
  ~Runner() override;
  // The driver must report to this Runner; it is shut down at the end of Run.
  RunResult Run(Driver* driver);
  void Complete(const Token& token, const Completion& completion) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The canonical name of a gRPC status code ("OK", "UNAVAILABLE", ...; "CODE_<n>" past 16).
std::string CodeName(int code);
// The Report's Latency (in microseconds) of a nanosecond histogram.
Latency LatencyOf(const Histogram& h);

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_RUNNER_H_
