// actctl train JOB_FILE: submits a training job and follows it.
#include <cstdio>

#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/training_display.h"

namespace actserve::client {

int RunTrain(const std::vector<std::string>& args) {
  absl::StatusOr<v1::JobSpec> spec = ReadJobSpec(args[0]);
  if (!spec.ok()) return Fail(spec.status());
  auto client = TrainingClient::Connect(ServerOptions());
  absl::StatusOr<v1::Job> job = client->Submit(*spec, CallTimeout());
  if (!job.ok()) return Fail(job.status());
  std::printf("%s submitted\n", job->id().c_str());
  std::fflush(stdout);
  if (absl::GetFlag(FLAGS_detach)) return 0;
  return Follow(*client, *job);
}

}  // namespace actserve::client
