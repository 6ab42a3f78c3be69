// What actctl's training commands share: how a job is shown (state, progress, summary), followed
// to its end, and drawn as curves; and the flags --curves and --detach.
#ifndef ACTSERVE_CLIENT_ACTCTL_TRAINING_DISPLAY_H_
#define ACTSERVE_CLIENT_ACTCTL_TRAINING_DISPLAY_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "client/lib/training_client.h"

ABSL_DECLARE_FLAG(std::string, curves);
ABSL_DECLARE_FLAG(bool, detach);

namespace actserve::client {

// "succeeded", "running", ...: the state's name without its prefix, in lower case.
std::string State(v1::JobState state);
// `v` in `format` if `has`, else "-".
std::string Opt(bool has, double v, const absl::FormatSpec<double>& format = "%.4f");

// The end state, the final metrics and the last report's per-layer diagnostics, on stdout.
void PrintSummary(const v1::Job& job);

// Loss (log scale), accuracy, dead units and gradient norms (log scale) over the reports, one
// panel each, as an SVG file at `path`. INTERNAL if it cannot be written.
absl::Status WriteCurves(const v1::Job& job, const std::vector<v1::Progress>& reports,
                         const std::string& path);

// Watches `job` to its end with a progress display on stderr, prints its summary and writes its
// curves if --curves is set. Returns the exit status: 0 only if the job succeeded.
int Follow(TrainingClient& client, const v1::Job& job);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_TRAINING_DISPLAY_H_
