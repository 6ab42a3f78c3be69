// The table of actctl's commands: the one place that names them.
#include <algorithm>

#include "client/actctl/command.h"

namespace actserve::client {
namespace {

const std::vector<Command>& Table() {
  static const auto* const kCommands = new std::vector<Command>{
      {"list", "", 0, 0, {"json"}, "the catalog of activation functions",
       "Lists every function the server computes: name (aliases), formula, parameters with their "
       "defaults (* learnable) and output range. --json prints the ListActivationsResponse in "
       "protobuf's JSON mapping.",
       RunList},
      {"forward", "NAME [X...]", 1, -1,
       {"range", "csv", "param", "dtype", "seed", "training", "format"},
       "f(x) computed by the server",
       "Computes the activation NAME at the inputs: values given as arguments (negative numbers "
       "are values, not flags), --range=A:B:N or --csv=FILE|-. They form one tensor of shape [n]; "
       "last-axis functions see one row. Prints x,y lines (CSV) or, with --format=json, "
       "{\"x\": [...], \"y\": [...]}, every number with full precision.",
       RunForward},
      {"backward", "NAME [X...]", 1, -1,
       {"range", "csv", "param", "dtype", "seed", "training", "format", "dy"},
       "dx (and parameter gradients) computed by the server",
       "Computes the gradient of NAME at the inputs (as for forward) for the upstream gradient "
       "--dy (default: ones). Prints x,dx lines and the learnable parameters' gradients on "
       "stderr or, with --format=json, {\"x\": [...], \"dx\": [...], \"param_gradients\": "
       "{NAME: [...]}}.",
       RunBackward},
      {"health", "[SERVICE]", 0, 1, {}, "the gRPC health status",
       "Asks the gRPC health service about SERVICE (default: the whole server). Prints SERVING "
       "(exit 0) or NOT_SERVING (exit 1).",
       RunHealth},
      {"plot", "NAME[,NAME...]", 1, 1, {"range", "param", "seed", "training", "out"},
       "an SVG of functions and their derivatives",
       "Draws each element-wise function (solid) and its derivative (dashed), both computed by "
       "the server over --range (default -5:5:401), into the SVG file --out.",
       RunPlot},
      {"load", "", 0, 0, {"mode", "payload", "in_flight", "duration", "activation"},
       "a closed-loop load generator",
       "Keeps --in_flight requests outstanding (one thread each) for --duration seconds after "
       "0.5 s of warm-up, as unary Forward calls or over one Evaluate stream each (--mode), of "
       "--payload float32 elements. Prints one JSON line: req/s, MB/s, p50 and p99 latency.",
       RunLoad},
      {"train", "JOB_FILE", 1, 1, {"curves", "detach"}, "submits a training job and follows it",
       "Submits the JobSpec in JOB_FILE (protobuf text format, or JSON if it ends in .json), "
       "shows its progress and a summary with per-layer diagnostics; exit 0 only if it "
       "succeeded. --curves=FILE.svg draws loss, accuracy, dead units and gradient norms; "
       "--detach prints the id without waiting.",
       RunTrain},
      {"jobs", "", 0, 0, {"json"}, "the server's training jobs",
       "One line per job: id, name, state, epoch, loss, accuracy, memory. --json prints the "
       "ListJobsResponse in protobuf's JSON mapping.",
       RunJobs},
      {"watch", "ID", 1, 1, {"curves"}, "follows a job to its end",
       "Shows the job's progress from its first report, then its summary; exit 0 only if it "
       "succeeded. --curves=FILE.svg as for train.",
       RunWatch},
      {"cancel", "ID", 1, 1, {}, "cancels a job", "Cancels the job and prints its summary.",
       RunCancel},
      {"delete", "ID", 1, 1, {}, "deletes an ended job",
       "Deletes the job and what the server keeps of it.", RunDelete},
      {"predict", "", 0, 0, {"job", "features", "json"}, "a trained network's outputs",
       "Runs the network of job --job on --features (values separated by commas, rows by "
       "semicolons: '1,2;3,4'). Prints one line per row: the outputs and, for classifiers, the "
       "class. --json prints the PredictResponse in protobuf's JSON mapping.",
       RunPredict},
      {"curves", "ID", 1, 1, {"curves"}, "draws an ended job's curves",
       "Writes the curves of an ended job to --curves (default training.svg).", RunCurves},
      {"sweep", "JOB_FILE", 1, 1, {"activations", "detach"},
       "the same job once per hidden activation",
       "Submits JOB_FILE once per activation of --activations, waits for every job (unless "
       "--detach) and prints a table to compare them: losses, accuracies, dead units and "
       "gradient norms of the first and last layers.",
       RunSweep},
  };
  return *kCommands;
}

}  // namespace

absl::Span<const Command> Commands() { return Table(); }

const Command* FindCommand(absl::string_view name) {
  for (const Command& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace actserve::client
