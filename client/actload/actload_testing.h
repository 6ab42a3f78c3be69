// Test helpers: the actload binary run with arguments and its --json report read back.
#ifndef ACTSERVE_CLIENT_ACTLOAD_ACTLOAD_TESTING_H_
#define ACTSERVE_CLIENT_ACTLOAD_ACTLOAD_TESTING_H_

#include <string>

#include "client/actload/report.pb.h"

namespace actserve::actload::testing {

std::string ReadFile(const std::string& path);

struct LoadRun {
  int status = -1;          // actload's exit status
  std::string stdout_text;  // its stdout and stderr
  Report report;            // its --json report (empty if it wrote none)
};

// Runs actload (the binary built with the tests) with `args` plus --progress=none and --json to
// a temporary file; a report that does not parse fails the calling test.
LoadRun Actload(const std::string& args);

// The calls counted by the report's histogram, and those at least `us` microseconds (whole
// buckets whose lower bound is >= us).
double HistogramCount(const Report& r);
double CountAbove(const Report& r, double us);

}  // namespace actserve::actload::testing

#endif  // ACTSERVE_CLIENT_ACTLOAD_ACTLOAD_TESTING_H_
