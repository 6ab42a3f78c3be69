// actctl's command line: flags anywhere, their kinds read from the flag registry (so a boolean
// flag never takes the next argument as its value), negative numbers as values, and help drawn
// from the command table.
#ifndef ACTSERVE_CLIENT_ACTCTL_COMMAND_LINE_H_
#define ACTSERVE_CLIENT_ACTCTL_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/actctl/command.h"

namespace actserve::client {

struct CommandLine {
  std::string command;             // the first positional argument; empty when there is none
  std::vector<std::string> args;   // the positional arguments after it, in order
  std::vector<std::string> flags;  // the names of the flags given, in order
  bool help = false;               // --help, -h or --helpfull was given
};

// Splits `argv` (without the program name) and sets every flag it gives. An argument is a flag
// when it starts with '-', is not a number and comes before "--". Boolean flags take a value only
// as --name=V (--noname is --name=false); other flags as --name=V or --name V. INVALID_ARGUMENT
// naming the flag for an unknown flag, a missing value or a value the flag's type rejects.
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& argv);

// INVALID_ARGUMENT naming the first flag in `line` that `command` does not take.
absl::Status CheckFlags(const CommandLine& line, const Command& command);

// Help: the commands, one line each; or one command's usage, details and flags with defaults.
std::string OverviewHelp();
std::string CommandHelp(const Command& command);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_COMMAND_LINE_H_
