// actctl: the command line for an actserve server. `actctl --help` lists the commands,
// `actctl COMMAND --help` describes one; the commands are in commands.cc's table.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/actctl/command.h"
#include "client/actctl/command_line.h"
#include "client/actctl/common.h"

namespace actserve::client {
namespace {

int Main(const std::vector<std::string>& argv) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(argv);
  if (!line.ok()) return Usage(std::string(line.status().message()));
  if (line->command == "help" || (line->command.empty() && line->help)) {
    const Command* c = line->args.empty() ? nullptr : FindCommand(line->args[0]);
    std::fputs((c != nullptr ? CommandHelp(*c) : OverviewHelp()).c_str(), stdout);
    return 0;
  }
  if (line->command.empty()) return Usage("missing command");
  const Command* command = FindCommand(line->command);
  if (command == nullptr) return Usage("unknown command '" + line->command + "'");
  if (line->help) {
    std::fputs(CommandHelp(*command).c_str(), stdout);
    return 0;
  }
  if (absl::Status s = CheckFlags(*line, *command); !s.ok()) {
    return Usage(std::string(s.message()));
  }
  if (!command->offline) {
    if (absl::StatusOr<ChannelOptions> options = CheckServerOptions(); !options.ok()) {
      return Usage(std::string(options.status().message()));
    }
  }
  const int n = static_cast<int>(line->args.size());
  if (n < command->min_args || (command->max_args >= 0 && n > command->max_args)) {
    return Usage(absl::StrCat("usage: actctl ", command->name, " ", command->args));
  }
  return command->run(line->args);
}

}  // namespace
}  // namespace actserve::client

int main(int argc, char** argv) {
  return actserve::client::Main(std::vector<std::string>(argv + 1, argv + argc));
}
