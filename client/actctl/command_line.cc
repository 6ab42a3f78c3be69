#include "client/actctl/command_line.h"

#include <algorithm>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace actserve::client {
namespace {

bool IsFlag(const std::string& arg) {
  double unused;
  return arg.size() > 1 && arg[0] == '-' && !absl::SimpleAtod(arg, &unused);
}

bool Takes(const Command& command, absl::string_view flag) {
  return std::find(std::begin(kGlobalFlags), std::end(kGlobalFlags), flag) !=
             std::end(kGlobalFlags) ||
         std::find(command.flags.begin(), command.flags.end(), flag) != command.flags.end();
}

// `text` broken into lines of at most `width` characters (words longer than that stand alone),
// each after `indent`.
std::string Wrap(absl::string_view text, size_t width, absl::string_view indent) {
  std::string out, line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

std::string Synopsis(const Command& c) {
  return absl::StrCat("actctl ", c.name, c.args.empty() ? "" : " ", c.args, " [flags]");
}

std::string FlagLine(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return absl::StrCat("  --", name, "\n");
  const bool boolean = flag->IsOfType<bool>();
  const std::string value = flag->DefaultValue().empty() ? "\"\"" : flag->DefaultValue();
  return absl::StrCat("  --", name, boolean ? "" : "=VALUE", "\n",
                      Wrap(absl::StrCat(flag->Help(), " (default: ", value, ")"), 72, "      "));
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& argv) {
  CommandLine line;
  std::vector<std::string> positional;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      positional.insert(positional.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (!IsFlag(arg)) {
      positional.push_back(arg);
      continue;
    }
    absl::string_view body = arg;
    if (!absl::ConsumePrefix(&body, "--")) absl::ConsumePrefix(&body, "-");
    const size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    const bool has_value = eq != absl::string_view::npos;
    std::string value = has_value ? std::string(body.substr(eq + 1)) : "";
    if (name == "help" || name == "h" || name == "helpfull" || name == "helpshort") {
      line.help = true;
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && flag->IsOfType<bool>()) {
        name = name.substr(2);
        value = "false";
      } else {
        flag = nullptr;
      }
    } else if (flag != nullptr && flag->IsOfType<bool>() && !has_value) {
      value = "true";  // a boolean flag never takes the next argument
    } else if (flag != nullptr && !has_value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, "=", value, ": ", error.empty() ? "bad value" : error));
    }
    line.flags.push_back(name);
  }
  if (!positional.empty()) {
    line.command = positional.front();
    line.args.assign(positional.begin() + 1, positional.end());
  }
  return line;
}

absl::Status CheckFlags(const CommandLine& line, const Command& command) {
  for (const std::string& flag : line.flags) {
    if (!Takes(command, flag)) {
      return absl::InvalidArgumentError(absl::StrCat(command.name, " does not take --", flag,
                                                     " (actctl ", command.name,
                                                     " --help lists its flags)"));
    }
  }
  return absl::OkStatus();
}

std::string OverviewHelp() {
  std::string text =
      "actctl: the command line for an actserve server.\n\n"
      "usage: actctl [--server=TARGET] [--timeout=S] COMMAND [ARGS] [flags]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    absl::StrAppend(&text, absl::StrFormat("  %-10s %s\n", c.name, c.help));
  }
  absl::StrAppend(&text,
                  "\nactctl COMMAND --help describes a command and its flags.\n\n"
                  "global flags:\n");
  for (absl::string_view flag : kGlobalFlags) absl::StrAppend(&text, FlagLine(flag));
  absl::StrAppend(&text,
                  "\nExit status: 0 on success, 1 on a failed call (the server's status is "
                  "printed), 2 on bad usage.\n");
  return text;
}

std::string CommandHelp(const Command& c) {
  std::string text = absl::StrCat("usage: ", Synopsis(c), "\n\n",
                                  Wrap(absl::StrCat(c.help, ". ", c.details), 78, ""));
  if (!c.flags.empty()) {
    absl::StrAppend(&text, "\nflags:\n");
    for (absl::string_view flag : c.flags) absl::StrAppend(&text, FlagLine(flag));
  }
  absl::StrAppend(&text, "\nglobal flags:\n");
  for (absl::string_view flag : kGlobalFlags) absl::StrAppend(&text, FlagLine(flag));
  return text;
}

}  // namespace actserve::client
