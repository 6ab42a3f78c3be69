#include "client/actctl_train.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/actctl_common.h"
#include "client/svg_chart.h"
#include "client/training_client.h"

ABSL_FLAG(bool, detach, false, "train, sweep: submit and print the id without waiting.");
ABSL_FLAG(std::string, curves, "",
          "train, curves: write the loss, accuracy and per-layer diagnostics curves to this SVG "
          "(curves: default training.svg).");
ABSL_FLAG(std::string, job, "", "predict: the job whose trained network predicts.");
ABSL_FLAG(std::string, features, "",
          "predict: input rows, values separated by commas and rows by semicolons ('1,2;3,4').");
ABSL_FLAG(std::vector<std::string>, activations, {},
          "sweep: the hidden activations to compare, separated by commas.");

namespace actserve::client {
namespace {

std::string State(v1::JobState s) {
  std::string name = v1::JobState_Name(s);
  return absl::AsciiStrToLower(name.substr(sizeof("JOB_STATE_") - 1));
}

std::string Opt(bool has, double v, const char* format = "%.4f") {
  return has ? absl::StrFormat(format, v) : "-";
}

// One line of progress: the epoch bar, losses and accuracies.
std::string ProgressLine(const v1::Progress& p, int64_t epochs) {
  const int width = 24;
  const int64_t done = std::min<int64_t>(width, epochs > 0 ? width * p.epoch() / epochs : width);
  std::string bar(done, '=');
  bar.resize(width, ' ');
  std::string line = absl::StrFormat("epoch %*d/%d [%s] loss %.4f",
                                     static_cast<int>(std::to_string(epochs).size()), p.epoch(),
                                     epochs, bar, p.train_loss());
  if (p.has_train_accuracy())
    absl::StrAppend(&line, absl::StrFormat(" acc %.3f", p.train_accuracy()));
  if (p.has_validation_loss()) {
    absl::StrAppend(&line, absl::StrFormat(" | val loss %.4f", p.validation_loss()));
  }
  if (p.has_validation_accuracy()) {
    absl::StrAppend(&line, absl::StrFormat(" acc %.3f", p.validation_accuracy()));
  }
  return line;
}

// Prints reports as they come: a bar redrawn in place on a terminal; otherwise (a log) a line
// every tenth of the epochs and at the last.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(int64_t epochs) : epochs_(epochs), tty_(isatty(STDERR_FILENO)) {}
  void operator()(const v1::Progress& p) {
    const int64_t every = std::max<int64_t>(1, epochs_ / 10);
    if (!tty_ && !(p.epoch_end() && (p.epoch() % every == 0 || p.epoch() == epochs_))) return;
    std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", ProgressLine(p, epochs_).c_str());
    drawn_ = tty_;
  }
  ~ProgressPrinter() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

 private:
  const int64_t epochs_;
  const bool tty_;
  bool drawn_ = false;
};

int64_t Epochs(const v1::Job& job) { return job.spec().has_epochs() ? job.spec().epochs() : 10; }

// The end state, the final metrics and the last report's per-layer diagnostics.
void PrintSummary(const v1::Job& job) {
  std::printf("%s %s", job.id().c_str(), State(job.state()).c_str());
  if (job.has_error()) std::printf(": %s", job.error().message().c_str());
  std::printf("\n");
  if (job.has_result()) {
    const v1::Result& r = job.result();
    std::printf(
        "  %lld epochs, %lld steps (%s); train loss %.5f acc %s; validation loss %s acc %s\n",
        static_cast<long long>(r.epochs()), static_cast<long long>(r.steps()),
        r.stop_reason().c_str(), r.train_loss(),
        Opt(r.has_train_accuracy(), r.train_accuracy()).c_str(),
        Opt(r.has_validation_loss(), r.validation_loss(), "%.5f").c_str(),
        Opt(r.has_validation_accuracy(), r.validation_accuracy()).c_str());
  }
  const v1::Progress& p = job.last_progress();
  if (p.layers_size() == 0) return;
  std::printf("  %-6s %-14s %6s %6s %9s %9s %9s %9s %10s\n", "layer", "activation", "units", "dead",
              "saturated", "act mean", "act std", "|W|", "|dL/dW|");
  for (int l = 0; l < p.layers_size(); ++l) {
    const v1::LayerDiagnostics& d = p.layers(l);
    const v1::Layer& layer = job.spec().layers(l);
    std::printf("  %-6d %-14s %6lld %6s %9s %9.4f %9.4f %9.4f %10.3e\n", l,
                layer.activation().c_str(), static_cast<long long>(layer.units()),
                Opt(d.has_dead_fraction(), d.dead_fraction(), "%.3f").c_str(),
                Opt(d.has_saturated_fraction(), d.saturated_fraction(), "%.3f").c_str(),
                d.activation_mean(), d.activation_std(), d.weight_norm(), d.gradient_norm());
  }
}

// Loss, accuracy, dead units and gradient norms over the reports, one panel each.
absl::Status WriteCurves(const v1::Job& job, const std::vector<v1::Progress>& reports,
                         const std::string& path) {
  Panel loss{.title = job.id() + " " + job.name() + ": loss"};
  Panel accuracy{.title = "accuracy", .ymin = 0, .ymax = 1};
  Panel dead{.title = "dead units (fraction of each layer)", .ymin = 0, .ymax = 1};
  Panel gradient{.title = "log10 |dLoss/dW| per layer", .clip = 1e9};
  Series train_loss{"train"}, val_loss{"validation", {}, {}, true, 1};
  Series train_acc{"train"}, val_acc{"validation", {}, {}, true, 1};
  std::vector<Series> dead_layers, grad_layers;
  for (const v1::Progress& p : reports) {
    // x: epochs, fractional between epoch ends.
    const double x = p.epoch_end() ? p.epoch() : p.epoch() - 0.5;
    train_loss.x.push_back(x), train_loss.y.push_back(p.train_loss());
    if (p.has_validation_loss()) val_loss.x.push_back(x), val_loss.y.push_back(p.validation_loss());
    if (p.has_train_accuracy()) train_acc.x.push_back(x), train_acc.y.push_back(p.train_accuracy());
    if (p.has_validation_accuracy()) {
      val_acc.x.push_back(x), val_acc.y.push_back(p.validation_accuracy());
    }
    for (int l = 0; l < p.layers_size(); ++l) {
      if (static_cast<int>(dead_layers.size()) <= l) {
        std::string label = absl::StrFormat("layer %d", l);
        if (l < job.spec().layers_size())
          absl::StrAppend(&label, " ", job.spec().layers(l).activation());
        dead_layers.push_back({label, {}, {}, false, l});
        grad_layers.push_back({label, {}, {}, false, l});
      }
      if (p.layers(l).has_dead_fraction()) {
        dead_layers[l].x.push_back(x), dead_layers[l].y.push_back(p.layers(l).dead_fraction());
      }
      grad_layers[l].x.push_back(x);
      grad_layers[l].y.push_back(std::log10(p.layers(l).gradient_norm()));
    }
  }
  loss.series = {train_loss, val_loss};
  accuracy.series = {train_acc, val_acc};
  dead.series = dead_layers;
  gradient.series = grad_layers;
  std::vector<Panel> panels = {loss};
  if (!train_acc.x.empty()) panels.push_back(accuracy);
  panels.push_back(dead);
  panels.push_back(gradient);
  std::ofstream out(path);
  out << RenderSvg(panels, 800, 300);
  if (!out) return absl::InternalError("cannot write " + path);
  std::fprintf(stderr, "wrote %s (%zu reports)\n", path.c_str(), reports.size());
  return absl::OkStatus();
}

// Watches `job` to its end with a progress display; writes curves if --curves is set.
int Follow(TrainingClient& client, const v1::Job& job) {
  std::vector<v1::Progress> reports;
  absl::StatusOr<v1::Job> ended;
  {
    ProgressPrinter printer(Epochs(job));
    ended = client.Watch(job.id(), 0, [&](const v1::Progress& p) {
      reports.push_back(p);
      printer(p);
    });
  }
  if (!ended.ok()) return Fail(ended.status());
  PrintSummary(*ended);
  if (!absl::GetFlag(FLAGS_curves).empty()) {
    absl::Status s = WriteCurves(*ended, reports, absl::GetFlag(FLAGS_curves));
    if (!s.ok()) return Fail(s);
  }
  return ended->state() == v1::JOB_STATE_SUCCEEDED ? 0 : 1;
}

int Train(TrainingClient& client, const std::string& path) {
  absl::StatusOr<v1::JobSpec> spec = ReadJobSpec(path);
  if (!spec.ok()) return Fail(spec.status());
  absl::StatusOr<v1::Job> job = client.Submit(*spec);
  if (!job.ok()) return Fail(job.status());
  std::printf("%s submitted\n", job->id().c_str());
  std::fflush(stdout);
  if (absl::GetFlag(FLAGS_detach)) return 0;
  return Follow(client, *job);
}

int Jobs(TrainingClient& client) {
  absl::StatusOr<std::vector<v1::Job>> jobs = client.List();
  if (!jobs.ok()) return Fail(jobs.status());
  std::printf("%-10s %-24s %-10s %9s %10s %8s %10s\n", "id", "name", "state", "epoch", "loss",
              "acc", "memory");
  for (const v1::Job& j : *jobs) {
    const v1::Progress& p = j.last_progress();
    std::printf(
        "%-10s %-24s %-10s %4lld/%-4lld %10s %8s %9.1fK\n", j.id().c_str(),
        j.name().substr(0, 24).c_str(), State(j.state()).c_str(), static_cast<long long>(p.epoch()),
        static_cast<long long>(Epochs(j)), Opt(j.reports() > 0, p.train_loss()).c_str(),
        Opt(p.has_train_accuracy(), p.train_accuracy(), "%.3f").c_str(), j.memory_bytes() / 1024.0);
  }
  return 0;
}

absl::StatusOr<v1::Tensor> ParseFeatures(const std::string& text) {
  v1::Tensor t;
  t.set_dtype(v1::DTYPE_FLOAT32);
  int64_t rows = 0, cols = -1;
  for (absl::string_view row : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::vector<std::string> values = absl::StrSplit(row, ',', absl::SkipWhitespace());
    if (cols >= 0 && static_cast<int64_t>(values.size()) != cols) {
      return absl::InvalidArgumentError("--features: rows of different lengths");
    }
    cols = static_cast<int64_t>(values.size());
    for (const std::string& v : values) {
      double d;
      if (!absl::SimpleAtod(v, &d))
        return absl::InvalidArgumentError("--features: not a number: " + v);
      t.add_float_data(static_cast<float>(d));
    }
    ++rows;
  }
  if (rows == 0) return absl::InvalidArgumentError("--features: no rows ('1,2;3,4')");
  t.add_shape(rows);
  t.add_shape(cols);
  return t;
}

int Predict(TrainingClient& client) {
  if (absl::GetFlag(FLAGS_job).empty()) return Usage("predict needs --job=ID");
  absl::StatusOr<v1::Tensor> features = ParseFeatures(absl::GetFlag(FLAGS_features));
  if (!features.ok()) return Usage(std::string(features.status().message()));
  v1::PredictRequest request;
  request.set_job_id(absl::GetFlag(FLAGS_job));
  *request.mutable_features() = *features;
  absl::StatusOr<v1::PredictResponse> r = client.Predict(request);
  if (!r.ok()) return Fail(r.status());
  const int64_t rows = r->outputs().shape(0), cols = r->outputs().shape(1);
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<float> row(r->outputs().float_data().begin() + i * cols,
                           r->outputs().float_data().begin() + (i + 1) * cols);
    std::printf("%s", absl::StrJoin(row, ",").c_str());
    if (i < r->classes_size()) std::printf("  class %lld", static_cast<long long>(r->classes(i)));
    std::printf("\n");
  }
  return 0;
}

int Curves(TrainingClient& client, const std::string& id) {
  std::vector<v1::Progress> reports;
  absl::StatusOr<v1::Job> job = client.Get(id);
  if (!job.ok()) return Fail(job.status());
  if (job->state() == v1::JOB_STATE_QUEUED || job->state() == v1::JOB_STATE_RUNNING) {
    return Fail(
        absl::FailedPreconditionError(id + " is still " + State(job->state()) +
                                      "; draw its curves once it has ended (actctl watch)"));
  }
  job = client.Watch(id, 0, [&](const v1::Progress& p) { reports.push_back(p); });
  if (!job.ok()) return Fail(job.status());
  std::string path = absl::GetFlag(FLAGS_curves);
  absl::Status s = WriteCurves(*job, reports, path.empty() ? "training.svg" : path);
  return s.ok() ? 0 : Fail(s);
}

int Sweep(TrainingClient& client, const std::string& path) {
  absl::StatusOr<v1::JobSpec> spec = ReadJobSpec(path);
  if (!spec.ok()) return Fail(spec.status());
  if (absl::GetFlag(FLAGS_activations).empty()) return Usage("sweep needs --activations=A,B,...");
  v1::SubmitSweepRequest request;
  *request.mutable_spec() = *spec;
  for (const std::string& a : absl::GetFlag(FLAGS_activations)) {
    request.add_activations()->set_activation(a);
  }
  absl::StatusOr<v1::Sweep> sweep = client.SubmitSweep(request);
  if (!sweep.ok()) return Fail(sweep.status());
  std::printf("%s submitted: %d jobs\n", sweep->id().c_str(), sweep->jobs_size());
  if (absl::GetFlag(FLAGS_detach)) return 0;
  for (const v1::Job& job : sweep->jobs()) {
    absl::StatusOr<v1::Job> ended = client.Watch(job.id(), 0, nullptr);
    if (!ended.ok()) return Fail(ended.status());
    std::fprintf(stderr, "%s %s\n", ended->id().c_str(), State(ended->state()).c_str());
  }
  sweep = client.GetSweep(sweep->id());
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

}  // namespace

bool IsTrainingCommand(const std::string& command) {
  for (const char* c :
       {"train", "jobs", "watch", "cancel", "delete", "predict", "curves", "sweep"}) {
    if (command == c) return true;
  }
  return false;
}

int RunTrainingCommand(const std::vector<std::string>& args, const std::string& server) {
  const std::string& command = args[0];
  std::unique_ptr<TrainingClient> client = TrainingClient::Connect(server);
  const bool one_arg = args.size() == 2;
  if (command == "jobs") return Jobs(*client);
  if (command == "predict") return Predict(*client);
  if (!one_arg) return Usage(command + " takes one argument");
  const std::string& arg = args[1];
  if (command == "train") return Train(*client, arg);
  if (command == "sweep") return Sweep(*client, arg);
  if (command == "curves") return Curves(*client, arg);
  if (command == "watch") {
    absl::StatusOr<v1::Job> job = client->Get(arg);
    if (!job.ok()) return Fail(job.status());
    return Follow(*client, *job);
  }
  if (command == "cancel") {
    absl::StatusOr<v1::Job> job = client->Cancel(arg);
    if (!job.ok()) return Fail(job.status());
    PrintSummary(*job);
    return 0;
  }
  // delete
  absl::Status s = client->Delete(arg);
  if (!s.ok()) return Fail(s);
  std::printf("%s deleted\n", arg.c_str());
  return 0;
}

}  // namespace actserve::client
