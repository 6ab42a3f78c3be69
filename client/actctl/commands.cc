// The table of actctl's commands: the one place that names them.

#include "client/actctl/command.h"

namespace actserve::client {
namespace {

const std::vector<Command>& Table() {
  static const auto* const kCommands = new std::vector<Command>{
      {.name = "list",
       .args = "",
       .min_args = 0,
       .max_args = 0,
       .flags = {"json"},
       .help = "the catalog of activation functions",
       .details =
           "Lists every function the server computes: name (aliases), formula, parameters with "
           "their defaults (* learnable) and output range. --json prints the "
           "ListActivationsResponse in protobuf's JSON mapping.",
       .run = RunList},
      {.name = "forward",
       .args = "NAME [X...]",
       .min_args = 1,
       .max_args = -1,
       .flags = {"range", "csv", "param", "dtype", "seed", "training", "format"},
       .help = "f(x) computed by the server",
       .details =
           "Computes the activation NAME at the inputs: values given as arguments (negative "
           "numbers are values, not flags), --range=A:B:N or --csv=FILE|-. They form one tensor "
           "of shape [n]; last-axis functions see one row. Prints x,y lines (CSV) or, with "
           "--format=json, {\"x\": [...], \"y\": [...]}, every number with full precision.",
       .run = RunForward},
      {.name = "backward",
       .args = "NAME [X...]",
       .min_args = 1,
       .max_args = -1,
       .flags = {"range", "csv", "param", "dtype", "seed", "training", "format", "dy"},
       .help = "dx (and parameter gradients) computed by the server",
       .details = "Computes the gradient of NAME at the inputs (as for forward) for the upstream "
                  "gradient --dy (default: ones). Prints x,dx lines and the learnable parameters' "
                  "gradients on stderr or, with --format=json, {\"x\": [...], \"dx\": [...], "
                  "\"param_gradients\": {NAME: [...]}}.",
       .run = RunBackward},
      {.name = "health",
       .args = "[SERVICE]",
       .min_args = 0,
       .max_args = 1,
       .flags = {},
       .help = "the gRPC health status",
       .details = "Asks the gRPC health service about SERVICE (default: the whole server). Prints "
                  "SERVING (exit 0) or NOT_SERVING (exit 1).",
       .run = RunHealth},
      {.name = "plot",
       .args = "NAME[,NAME...]",
       .min_args = 1,
       .max_args = 1,
       .flags = {"range", "param", "seed", "training", "out"},
       .help = "an SVG of functions and their derivatives",
       .details =
           "Draws each element-wise function (solid) and its derivative (dashed), both computed "
           "by the server over --range (default -5:5:401), into the SVG file --out.",
       .run = RunPlot},
      {.name = "load",
       .args = "",
       .min_args = 0,
       .max_args = 0,
       .flags = {"mode", "payload", "in_flight", "duration", "activation"},
       .help = "a closed-loop load generator",
       .details =
           "Keeps --in_flight requests outstanding (one thread each) for --duration seconds "
           "after 0.5 s of warm-up, as unary Forward calls or over one Evaluate stream each "
           "(--mode), of --payload float32 elements. Prints one JSON line: req/s, MB/s, p50 and "
           "p99 latency.",
       .run = RunLoad},
      {.name = "train",
       .args = "JOB_FILE",
       .min_args = 1,
       .max_args = 1,
       .flags = {"curves", "detach"},
       .help = "submits a training job and follows it",
       .details =
           "Submits the JobSpec in JOB_FILE (protobuf text format, or JSON if it ends in .json), "
           "shows its progress and a summary with per-layer diagnostics; exit 0 only if it "
           "succeeded. --curves=FILE.svg draws loss, accuracy, dead units and gradient norms; "
           "--detach prints the id without waiting.",
       .run = RunTrain},
      {.name = "jobs",
       .args = "",
       .min_args = 0,
       .max_args = 0,
       .flags = {"json"},
       .help = "the server's training jobs",
       .details =
           "One line per job: id, name, state, epoch, loss, accuracy, memory. --json prints the "
           "ListJobsResponse in protobuf's JSON mapping.",
       .run = RunJobs},
      {.name = "watch",
       .args = "ID",
       .min_args = 1,
       .max_args = 1,
       .flags = {"curves"},
       .help = "follows a job to its end",
       .details =
           "Shows the job's progress from its first report, then its summary; exit 0 only if it "
           "succeeded. --curves=FILE.svg as for train.",
       .run = RunWatch},
      {.name = "cancel",
       .args = "ID",
       .min_args = 1,
       .max_args = 1,
       .flags = {},
       .help = "cancels a job",
       .details = "Cancels the job and prints its summary.",
       .run = RunCancel},
      {.name = "delete",
       .args = "ID",
       .min_args = 1,
       .max_args = 1,
       .flags = {},
       .help = "deletes an ended job",
       .details = "Deletes the job and what the server keeps of it.",
       .run = RunDelete},
      {.name = "predict",
       .args = "",
       .min_args = 0,
       .max_args = 0,
       .flags = {"job", "features", "json"},
       .help = "a trained network's outputs",
       .details =
           "Runs the network of job --job on --features (values separated by commas, rows by "
           "semicolons: '1,2;3,4'). Prints one line per row: the outputs and, for classifiers, "
           "the class. --json prints the PredictResponse in protobuf's JSON mapping.",
       .run = RunPredict},
      {.name = "curves",
       .args = "ID",
       .min_args = 1,
       .max_args = 1,
       .flags = {"curves"},
       .help = "draws an ended job's curves",
       .details = "Writes the curves of an ended job to --curves (default training.svg).",
       .run = RunCurves},
      {.name = "sweep",
       .args = "JOB_FILE",
       .min_args = 1,
       .max_args = 1,
       .flags = {"activations", "detach"},
       .help = "the same job once per hidden activation",
       .details =
           "Submits JOB_FILE once per activation of --activations, waits for every job (unless "
           "--detach) and prints a table to compare them: losses, accuracies, dead units and "
           "gradient norms of the first and last layers.",
       .run = RunSweep},
      {.name = "token",
       .args = "new",
       .min_args = 1,
       .max_args = 1,
       .flags = {"tenant", "roles"},
       .help = "a new bearer token and its tokens-file line",
       .details =
           "Prints a fresh random token (256 bits) on the first line and, on the second, the line "
           "for the server's --tokens_file that gives it --tenant and --roles (compute, train, "
           "admin; comma-separated). Only the token's SHA-256 is in the line; keep the token "
           "itself for the client (--token_file or ACTSERVE_TOKEN). Talks to no server.",
       .run = RunToken,
       .offline = true},
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
