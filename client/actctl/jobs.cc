// actctl jobs: the server's training jobs.
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/training_display.h"

ABSL_DECLARE_FLAG(bool, json);

namespace actserve::client {

int RunJobs(const std::vector<std::string>&) {
  absl::StatusOr<std::vector<v1::Job>> jobs =
      TrainingClient::Connect(ServerOptions())->List(CallTimeout());
  if (!jobs.ok()) return Fail(jobs.status());
  if (absl::GetFlag(FLAGS_json)) {
    v1::ListJobsResponse response;
    response.mutable_jobs()->Assign(jobs->begin(), jobs->end());
    std::printf("%s\n", ToJson(response).c_str());
    return 0;
  }
  std::printf("%-10s %-24s %-10s %9s %10s %8s %10s\n", "id", "name", "state", "epoch", "loss",
              "acc", "memory");
  for (const v1::Job& j : *jobs) {
    const v1::Progress& p = j.last_progress();
    const int64_t epochs = j.spec().has_epochs() ? j.spec().epochs() : 10;
    std::printf(
        "%-10s %-24s %-10s %4lld/%-4lld %10s %8s %9.1fK\n", j.id().c_str(),
        j.name().substr(0, 24).c_str(), State(j.state()).c_str(), static_cast<long long>(p.epoch()),
        static_cast<long long>(epochs), Opt(j.reports() > 0, p.train_loss()).c_str(),
        Opt(p.has_train_accuracy(), p.train_accuracy(), "%.3f").c_str(), j.memory_bytes() / 1024.0);
  }
  return 0;
}

}  // namespace actserve::client
