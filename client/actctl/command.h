// actctl's commands: one table (commands.cc) names each command once, with its arguments, the
// flags it takes, its help and the function that runs it; main.cc dispatches through it and
// prints help from it, and each command lives in its own file.
#ifndef ACTSERVE_CLIENT_ACTCTL_COMMAND_H_
#define ACTSERVE_CLIENT_ACTCTL_COMMAND_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace actserve::client {

// Runs a command on its positional arguments (flags are set already). Returns the exit status:
// 0 on success, 1 for a failed call (or a job that did not succeed), 2 for bad usage.
using RunFunction = int (*)(const std::vector<std::string>& args);

struct Command {
  absl::string_view name;
  absl::string_view args;                // the positional arguments, e.g. "NAME [X...]"
  int min_args, max_args;                // how many; max_args -1: any number
  std::vector<absl::string_view> flags;  // the flags it takes besides kGlobalFlags
  absl::string_view help;                // one line
  absl::string_view details;             // what it does, in full
  RunFunction run;
  bool offline = false;  // runs without a server (no credentials are checked)
};

// Flags every command takes.
inline constexpr absl::string_view kGlobalFlags[] = {"server", "timeout", "tls",       "ca",
                                                     "cert",   "key",     "token_file"};

// Every command, in the order help lists them.
absl::Span<const Command> Commands();
// The command named `name`, or null.
const Command* FindCommand(absl::string_view name);

// The commands' run functions, one per file (list.cc, forward.cc, ...).
int RunList(const std::vector<std::string>& args);
int RunForward(const std::vector<std::string>& args);
int RunBackward(const std::vector<std::string>& args);
int RunHealth(const std::vector<std::string>& args);
int RunPlot(const std::vector<std::string>& args);
int RunLoad(const std::vector<std::string>& args);
int RunTrain(const std::vector<std::string>& args);
int RunJobs(const std::vector<std::string>& args);
int RunWatch(const std::vector<std::string>& args);
int RunCancel(const std::vector<std::string>& args);
int RunDelete(const std::vector<std::string>& args);
int RunPredict(const std::vector<std::string>& args);
int RunCurves(const std::vector<std::string>& args);
int RunSweep(const std::vector<std::string>& args);
int RunToken(const std::vector<std::string>& args);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_COMMAND_H_
