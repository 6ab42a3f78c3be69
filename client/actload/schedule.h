// Schedule: how the asked load (a rate in requests/s, or a concurrency) changes over a run.
//
// Written as one of
//   "500"                    constant (the run lasts --duration, or until --requests)
//   "100:2000:+100/10s"      steps: 100, then +100 every 10 s, up to 2000 (the last step
//                            included), 20 steps, 200 s in all
//   "100:2000/60s"           a linear ramp from 100 to 2000 over 60 s
//   "@FILE"                  a schedule file: one phase per line, "DURATION VALUE" (constant) or
//                            "DURATION FROM..TO" (a linear ramp); '#' starts a comment. E.g.
//                              10s 100
//                              30s 100..1000
//                              20s 1000
// Durations are absl durations ("10s", "1m30s", "500ms").
#ifndef ACTSERVE_CLIENT_ACTLOAD_SCHEDULE_H_
#define ACTSERVE_CLIENT_ACTLOAD_SCHEDULE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace actserve::actload {

struct Phase {
  absl::Duration length;    // InfiniteDuration() for a constant schedule's only phase
  double from = 0, to = 0;  // linear from `from` at the phase's start to `to` at its end
};

class Schedule {
 public:
  // Parses the forms above; INVALID_ARGUMENT saying what is wrong. Values must be > 0.
  static absl::StatusOr<Schedule> Parse(const std::string& text);
  static Schedule Constant(double value);

  // The asked value `elapsed` after the start (the last value past the end).
  double ValueAt(absl::Duration elapsed) const;
  // The sum of the phases; InfiniteDuration() for a constant schedule.
  absl::Duration TotalLength() const;
  bool constant() const {
    return phases_.size() == 1 && phases_[0].length == absl::InfiniteDuration();
  }
  // The number of arrivals between the start and `elapsed` for a rate schedule (the integral of
  // the rate).
  double ArrivalsUntil(absl::Duration elapsed) const;
  const std::vector<Phase>& phases() const { return phases_; }

 private:
  std::vector<Phase> phases_;
};

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_SCHEDULE_H_
