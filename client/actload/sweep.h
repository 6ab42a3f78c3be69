// Sweep: a series of runs over increasing concurrency or rate that finds the highest
// throughput whose latency percentile stays under an SLO, and the saturation knee.
//
//   --sweep=concurrency:1,2,4,8,16      listed values
//   --sweep=rate:100:2000:+100          FROM:TO:+STEP
//   --slo=p99<10ms                      pNN[.N]<DURATION (p50, p90, p99, p99.9, p99.99, max)
// The sweep stops after the first step that misses the SLO (or has more than half errors).
#ifndef ACTSERVE_CLIENT_ACTLOAD_SWEEP_H_
#define ACTSERVE_CLIENT_ACTLOAD_SWEEP_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/actload/report.pb.h"

namespace actserve::actload {

struct Slo {
  std::string text;        // as given
  std::string percentile;  // "p99", "p99.9", "max", ...
  double limit_us = 0;
};

struct SweepPlan {
  std::string over;  // "concurrency" or "rate"
  std::vector<double> values;
};

absl::StatusOr<Slo> ParseSlo(const std::string& text);
absl::StatusOr<SweepPlan> ParseSweep(const std::string& text);
// The latency percentile an SLO names.
double SloValue(const Slo& slo, const Latency& latency);

// Runs `run_step` for each value until one misses the SLO; fills best and knee.
Sweep RunSweep(const SweepPlan& plan, const Slo& slo,
               const std::function<SweepStep(double value)>& run_step);
// Fills meets_slo, best_* and knee_* of `sweep` from its steps.
void Summarize(const Slo& slo, Sweep* sweep);

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_SWEEP_H_
