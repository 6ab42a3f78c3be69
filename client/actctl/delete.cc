// actctl delete ID: deletes a job.
#include <cstdio>

#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/lib/training_client.h"

namespace actserve::client {

int RunDelete(const std::vector<std::string>& args) {
  absl::Status s = TrainingClient::Connect(ServerOptions())->Delete(args[0], CallTimeout());
  if (!s.ok()) return Fail(s);
  std::printf("%s deleted\n", args[0].c_str());
  return 0;
}

}  // namespace actserve::client
