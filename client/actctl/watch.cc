// actctl watch ID: follows a job to its end.
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/training_display.h"

namespace actserve::client {

int RunWatch(const std::vector<std::string>& args) {
  auto client = TrainingClient::Connect(ServerOptions());
  absl::StatusOr<v1::Job> job = client->Get(args[0], false, CallTimeout());
  if (!job.ok()) return Fail(job.status());
  return Follow(*client, *job);
}

}  // namespace actserve::client
