// actctl curves ID: draws an ended job's curves.
#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/training_display.h"

namespace actserve::client {

int RunCurves(const std::vector<std::string>& args) {
  const std::string& id = args[0];
  auto client = TrainingClient::Connect(ServerOptions());
  absl::StatusOr<v1::Job> job = client->Get(id, false, CallTimeout());
  if (!job.ok()) return Fail(job.status());
  if (job->state() == v1::JOB_STATE_QUEUED || job->state() == v1::JOB_STATE_RUNNING) {
    return Fail(
        absl::FailedPreconditionError(id + " is still " + State(job->state()) +
                                      "; draw its curves once it has ended (actctl watch)"));
  }
  std::vector<v1::Progress> reports;
  job = client->Watch(id, 0, [&](const v1::Progress& p) { reports.push_back(p); });
  if (!job.ok()) return Fail(job.status());
  const std::string path = absl::GetFlag(FLAGS_curves);
  absl::Status s = WriteCurves(*job, reports, path.empty() ? "training.svg" : path);
  return s.ok() ? 0 : Fail(s);
}

}  // namespace actserve::client
