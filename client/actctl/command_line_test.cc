#include "client/actctl/command_line.h"

#include <set>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(bool, test_switch, false, "A boolean flag that only this test knows.");
ABSL_FLAG(std::string, test_text, "", "A string flag that only this test knows.");

namespace actserve::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh flag state for each test.
class CommandLineTest : public ::testing::Test {
 private:
  absl::FlagSaver saver_;
};

TEST_F(CommandLineTest, ABooleanFlagNeverTakesTheNextArgument) {
  auto line = ParseCommandLine({"--test_switch", "forward", "relu", "1"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_switch));
  EXPECT_EQ(line->command, "forward");
  EXPECT_THAT(line->args, ElementsAre("relu", "1"));
}

TEST_F(CommandLineTest, NoPrefixAndExplicitValuesSetBooleans) {
  absl::SetFlag(&FLAGS_test_switch, true);
  ASSERT_TRUE(ParseCommandLine({"--notest_switch"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_switch));
  ASSERT_TRUE(ParseCommandLine({"--test_switch=true"}).ok());
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_switch));
  EXPECT_FALSE(ParseCommandLine({"--test_switch=maybe"}).ok());
}

TEST_F(CommandLineTest, OtherFlagsTakeTheNextArgumentOrAnEqualsValue) {
  auto line = ParseCommandLine({"list", "--test_text", "-3", "x"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_test_text), "-3");
  EXPECT_THAT(line->args, ElementsAre("x"));
  ASSERT_TRUE(ParseCommandLine({"--test_text=a=b"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_text), "a=b");
}

TEST_F(CommandLineTest, NegativeNumbersAndArgumentsAfterDashDashArePositional) {
  auto line = ParseCommandLine({"forward", "relu", "-2", "-1.5e3", "--", "--test_switch"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(line->args, ElementsAre("relu", "-2", "-1.5e3", "--test_switch"));
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_switch));
}

TEST_F(CommandLineTest, UnknownFlagsMissingValuesAndBadNumbersAreErrorsNamingTheFlag) {
  auto unknown = ParseCommandLine({"--no_such_flag=1"});
  EXPECT_THAT(unknown.status().message(), HasSubstr("--no_such_flag"));
  auto missing = ParseCommandLine({"load", "--payload"});
  EXPECT_THAT(missing.status().message(), HasSubstr("--payload needs a value"));
  auto bad = ParseCommandLine({"load", "--payload=many"});
  EXPECT_THAT(bad.status().message(), HasSubstr("--payload=many"));
}

TEST_F(CommandLineTest, HelpIsRecognisedAnywhere) {
  auto line = ParseCommandLine({"forward", "--help"});
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->help);
  EXPECT_EQ(line->command, "forward");
}

TEST_F(CommandLineTest, ACommandRefusesFlagsItDoesNotTake) {
  auto line = ParseCommandLine({"health", "--payload=4"});
  ASSERT_TRUE(line.ok());
  absl::Status s = CheckFlags(*line, *FindCommand("health"));
  EXPECT_THAT(s.message(), HasSubstr("health does not take --payload"));
  line = ParseCommandLine({"--server=x:1", "load", "--payload=4"});
  EXPECT_TRUE(CheckFlags(*line, *FindCommand("load")).ok());
}

// The table: names are unique, every flag it names exists, and for every command and every
// boolean flag it takes, the flag given without a value leaves the next argument positional.
TEST_F(CommandLineTest, EveryBooleanFlagOfEveryCommandLeavesTheNextArgumentAlone) {
  std::set<std::string> names;
  int booleans = 0;
  for (const Command& c : Commands()) {
    EXPECT_TRUE(names.insert(std::string(c.name)).second) << c.name << " twice";
    EXPECT_FALSE(c.help.empty()) << c.name;
    EXPECT_NE(c.run, nullptr) << c.name;
    std::vector<absl::string_view> flags(c.flags.begin(), c.flags.end());
    flags.insert(flags.end(), std::begin(kGlobalFlags), std::end(kGlobalFlags));
    for (absl::string_view flag : flags) {
      const absl::CommandLineFlag* f = absl::FindCommandLineFlag(flag);
      ASSERT_NE(f, nullptr) << c.name << " names --" << flag << ", which is not defined";
      if (!f->IsOfType<bool>()) continue;
      ++booleans;
      absl::FlagSaver saver;
      auto line = ParseCommandLine({std::string(c.name), absl::StrCat("--", flag), "ARG"});
      ASSERT_TRUE(line.ok()) << line.status();
      EXPECT_THAT(line->args, ElementsAre("ARG")) << c.name << " --" << flag;
      EXPECT_TRUE(CheckFlags(*line, c).ok()) << c.name << " --" << flag;
    }
  }
  EXPECT_GE(booleans, 5);  // list/jobs/predict --json, forward/backward --training, --detach...
}

// Every flag defined in actctl's files is taken by some command (a flag no command lists could
// never be given).
TEST_F(CommandLineTest, EveryActctlFlagIsTakenBySomeCommand) {
  std::set<std::string> taken(std::begin(kGlobalFlags), std::end(kGlobalFlags));
  for (const Command& c : Commands()) taken.insert(c.flags.begin(), c.flags.end());
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), "client/actctl/") ||
        absl::StrContains(flag->Filename(), "_test.cc")) {
      continue;
    }
    EXPECT_TRUE(taken.count(std::string(name))) << "--" << name << " (" << flag->Filename() << ")";
  }
}

TEST_F(CommandLineTest, HelpNamesEveryCommandAndACommandsFlags) {
  const std::string overview = OverviewHelp();
  for (const Command& c : Commands()) EXPECT_THAT(overview, HasSubstr(std::string(c.name)));
  const std::string forward = CommandHelp(*FindCommand("forward"));
  EXPECT_THAT(forward, HasSubstr("usage: actctl forward NAME [X...]"));
  EXPECT_THAT(forward, HasSubstr("--range=VALUE"));
  EXPECT_THAT(forward, HasSubstr("--training\n"));
  EXPECT_THAT(forward, HasSubstr("default: float32"));
}

}  // namespace
}  // namespace actserve::client
