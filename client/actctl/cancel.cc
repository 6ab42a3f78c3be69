// actctl cancel ID: cancels a job.
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/training_display.h"

namespace actserve::client {

int RunCancel(const std::vector<std::string>& args) {
  absl::StatusOr<v1::Job> job =
      TrainingClient::Connect(ServerOptions())->Cancel(args[0], CallTimeout());
  if (!job.ok()) return Fail(job.status());
  PrintSummary(*job);
  return 0;
}

}  // namespace actserve::client
