#include "client/actctl/training_display.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/actctl/common.h"
#include "client/chart/svg_chart.h"

ABSL_FLAG(bool, detach, false, "Submit and print the id without waiting.");
ABSL_FLAG(std::string, curves, "",
          "Write the loss, accuracy and per-layer diagnostics curves to this SVG file.");

namespace actserve::client {
namespace {

// One line of progress: the epoch bar, losses and accuracies.
std::string ProgressLine(const v1::Progress& p, int64_t epochs) {
  const int width = 24;
  const int64_t done = std::min<int64_t>(width, epochs > 0 ? width * p.epoch() / epochs : width);
  std::string bar(done, '=');
  bar.resize(width, ' ');
  std::string line = absl::StrFormat("epoch %*d/%d [%s] loss %.4f",
                                     static_cast<int>(std::to_string(epochs).size()), p.epoch(),
                                     epochs, bar, p.train_loss());
  if (p.has_train_accuracy()) {
    absl::StrAppend(&line, absl::StrFormat(" acc %.3f", p.train_accuracy()));
  }
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

}  // namespace

std::string State(v1::JobState s) {
  std::string name = v1::JobState_Name(s);
  return absl::AsciiStrToLower(name.substr(sizeof("JOB_STATE_") - 1));
}

std::string Opt(bool has, double v, const absl::FormatSpec<double>& format) {
  return has ? absl::StrFormat(format, v) : "-";
}

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

absl::Status WriteCurves(const v1::Job& job, const std::vector<v1::Progress>& reports,
                         const std::string& path) {
  Panel loss{.title = "loss (log scale)", .x_label = "epoch", .y_label = "loss", .log_y = true};
  Panel accuracy{
      .title = "accuracy", .x_label = "epoch", .y_label = "accuracy", .ymin = 0, .ymax = 1};
  Panel dead{.title = "dead units (fraction of each layer)",
             .x_label = "epoch",
             .y_label = "dead fraction",
             .ymin = 0,
             .ymax = 1};
  Panel gradient{.title = "|dLoss/dW| per layer (log scale)",
                 .x_label = "epoch",
                 .y_label = "gradient norm",
                 .log_y = true};
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
        if (l < job.spec().layers_size()) {
          absl::StrAppend(&label, " ", job.spec().layers(l).activation());
        }
        dead_layers.push_back({label, {}, {}, false, l});
        grad_layers.push_back({label, {}, {}, false, l});
      }
      if (p.layers(l).has_dead_fraction()) {
        dead_layers[l].x.push_back(x), dead_layers[l].y.push_back(p.layers(l).dead_fraction());
      }
      grad_layers[l].x.push_back(x), grad_layers[l].y.push_back(p.layers(l).gradient_norm());
    }
  }
  loss.series = {train_loss, val_loss};
  accuracy.series = {train_acc, val_acc};
  dead.series = dead_layers;
  gradient.series = grad_layers;
  std::vector<Panel> panels = {loss};
  if (!train_acc.x.empty()) panels.push_back(accuracy);
  if (!dead_layers.empty()) panels.push_back(dead);
  if (!grad_layers.empty()) panels.push_back(gradient);
  std::ofstream out(path);
  out << RenderSvg(absl::StrCat(job.id(), " ", job.name(), " (", State(job.state()), ")"), panels,
                   800, 320);
  if (!out) return absl::InternalError("cannot write " + path);
  std::fprintf(stderr, "wrote %s (%zu reports)\n", path.c_str(), reports.size());
  return absl::OkStatus();
}

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

}  // namespace actserve::client
