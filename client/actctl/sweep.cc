// actctl sweep JOB_FILE --activations=A,B,...: the same job once per hidden activation.
#include <cstdio>

#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/training_display.h"

ABSL_FLAG(std::vector<std::string>, activations, {},
          "The hidden activations to compare, separated by commas.");

namespace actserve::client {

int RunSweep(const std::vector<std::string>& args) {
  if (absl::GetFlag(FLAGS_activations).empty()) return Usage("sweep needs --activations=A,B,...");
  absl::StatusOr<v1::JobSpec> spec = ReadJobSpec(args[0]);
  if (!spec.ok()) return Fail(spec.status());
  v1::SubmitSweepRequest request;
  *request.mutable_spec() = *spec;
  for (const std::string& a : absl::GetFlag(FLAGS_activations)) {
    request.add_activations()->set_activation(a);
  }
  auto client = TrainingClient::Connect(ServerOptions());
  absl::StatusOr<v1::Sweep> sweep = client->SubmitSweep(request, CallTimeout());
  if (!sweep.ok()) return Fail(sweep.status());
  std::printf("%s submitted: %d jobs\n", sweep->id().c_str(), sweep->jobs_size());
  if (absl::GetFlag(FLAGS_detach)) return 0;
  for (const v1::Job& job : sweep->jobs()) {
    absl::StatusOr<v1::Job> ended = client->Watch(job.id(), 0, nullptr);
    if (!ended.ok()) return Fail(ended.status());
    std::fprintf(stderr, "%s %s\n", ended->id().c_str(), State(ended->state()).c_str());
  }
  sweep = client->GetSweep(sweep->id(), CallTimeout());
  if (!sweep.ok()) return Fail(sweep.status());
  std::printf("%-14s %-10s %7s %10s %8s %10s %8s %7s %11s %11s\n", "activation", "state", "epochs",
              "train loss", "acc", "val loss", "val acc", "dead[0]", "|dW| first", "|dW| last");
  for (int i = 0; i < sweep->jobs_size(); ++i) {
    const v1::Job& j = sweep->jobs(i);
    const v1::Result& r = j.result();
    const v1::Progress& p = j.last_progress();
    const bool layers = p.layers_size() > 0;
    std::printf(
        "%-14s %-10s %7lld %10s %8s %10s %8s %7s %11s %11s\n",
        sweep->activations(i).activation().c_str(), State(j.state()).c_str(),
        static_cast<long long>(r.epochs()), Opt(j.has_result(), r.train_loss()).c_str(),
        Opt(r.has_train_accuracy(), r.train_accuracy(), "%.3f").c_str(),
        Opt(r.has_validation_loss(), r.validation_loss()).c_str(),
        Opt(r.has_validation_accuracy(), r.validation_accuracy(), "%.3f").c_str(),
        Opt(layers && p.layers(0).has_dead_fraction(), layers ? p.layers(0).dead_fraction() : 0,
            "%.3f")
            .c_str(),
        Opt(layers, layers ? p.layers(0).gradient_norm() : 0, "%.2e").c_str(),
        Opt(layers, layers ? p.layers(p.layers_size() - 1).gradient_norm() : 0, "%.2e").c_str());
  }
  return 0;
}

}  // namespace actserve::client
