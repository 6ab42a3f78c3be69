// actctl against a real server: per-command help, usage errors for bad numbers and misplaced
// flags, boolean flags that leave the next argument alone, full-precision numbers, JSON through
// protobuf's printer (jobs, predict, backward's parameter gradients), balanced --server targets,
// and training curves that stay well-formed XML whatever the job's name.
#include <signal.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kServer[] = ACTSERVE_BINARY;
constexpr char kActctl[] = ACTCTL_BINARY;

class ActctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = ServerProcess::Start(kServer, {"--training_workers=1"});
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(SIGTERM, absl::Seconds(30)), 0) << server_->Stderr();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  // actctl with --server set, stderr joined to stdout.
  static std::pair<int, std::string> Actctl(const std::string& args) {
    return RunCommand(absl::StrCat(kActctl, " --server=", server_->address(), " ", args, " 2>&1"));
  }

  static ServerProcess* server_;
};

ServerProcess* ActctlTest::server_ = nullptr;

TEST_F(ActctlTest, EachCommandHasItsOwnHelp) {
  auto [rc, out] = Actctl("forward --help");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(out, HasSubstr("usage: actctl forward NAME [X...]"));
  EXPECT_THAT(out, HasSubstr("--dtype=VALUE"));
  EXPECT_THAT(out, Not(HasSubstr("--payload")));
  std::tie(rc, out) = Actctl("--help");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(out, HasSubstr("sweep"));
  std::tie(rc, out) = Actctl("help load");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(out, HasSubstr("--payload=VALUE"));
}

TEST_F(ActctlTest, BadNumbersAndMisplacedFlagsAreUsageErrors) {
  for (const char* args : {"load --payload=-5", "load --payload=0", "load --payload=lots",
                           "load --in_flight=0", "load --duration=-1", "load --duration=nan",
                           "load --mode=batch", "forward relu --range=1:2:0", "health --payload=4",
                           "forward", "cancel", "list --no_such_flag", "frobnicate"}) {
    auto [rc, out] = Actctl(args);
    EXPECT_EQ(rc, 2) << args << ": " << out;
    EXPECT_THAT(out, HasSubstr("actctl: ")) << args;
  }
  auto [rc, out] = Actctl("load --payload=-5");
  EXPECT_THAT(out, HasSubstr("--payload must be between 1 and 2^26"));
}

TEST_F(ActctlTest, ABooleanFlagDoesNotSwallowTheNextArgument) {
  auto [rc, out] = Actctl("forward --training relu 1 2");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "x,y\n1,1\n2,2\n");
}

TEST_F(ActctlTest, NumbersRoundTripInTextAndJson) {
  auto [rc, out] = Actctl("forward identity 0.30000000000000004 -1e-300 --dtype=float64");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "x,y\n0.30000000000000004,0.30000000000000004\n-1e-300,-1e-300\n");
  std::tie(rc, out) = Actctl("forward identity 0.1 --format=json");  // float32: 0.1f prints 0.1
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("\"y\": [0.1]"));
}

TEST_F(ActctlTest, BackwardJsonIncludesParameterGradients) {
  // prelu: dy/da = x where x < 0, so dL/da = -2 for x = (-2, 3) and dy = ones.
  auto [rc, out] = Actctl("backward prelu -2 3 --param=a=0.1 --format=json");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("\"dx\": [0.1, 1]"));
  EXPECT_THAT(out, HasSubstr("\"param_gradients\": {\"a\": [-2]}"));
}

TEST_F(ActctlTest, TheServerFlagTakesBalancedTargets) {
  auto [rc, out] =
      RunCommand(absl::StrCat(kActctl, " --server=ipv4:", server_->address(), " health 2>&1"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "SERVING\n");
  std::tie(rc, out) = RunCommand(
      absl::StrCat(kActctl, " --server=dns:///", server_->address(), " forward relu -- -1 2"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "x,y\n-1,0\n2,2\n");
}

// A job named with XML's special characters: its curves parse as XML, and jobs --json and
// predict --json print protobuf's JSON mapping.
TEST_F(ActctlTest, AJobNamedWithMarkupGivesValidCurvesAndJson) {
  const std::string dir = ::testing::TempDir();
  const std::string spec = dir + "/markup_job.textproto", svg = dir + "/markup_curves.svg";
  std::ofstream(spec) << R"pb(
    name: "a <b> & \"c\" 'd'"
    layers { units: 8 activation: "tanh" }
    layers { units: 2 activation: "identity" }
    loss: LOSS_SOFTMAX_CROSS_ENTROPY
    optimizer { kind: KIND_MOMENTUM learning_rate: 0.1 }
    batch_size: 16
    epochs: 20
    seed: 1
    data { generated { name: "xor" rows: 200 seed: 1 } }
    validation_fraction: 0.2
  )pb";
  auto [rc, out] = Actctl("train " + spec + " --curves=" + svg);
  ASSERT_EQ(rc, 0) << out;
  const std::string id = std::vector<std::string>(absl::StrSplit(out, ' '))[0];

  auto [py, unused] = RunCommand("python3 -c '' 2>&1");
  if (py == 0) {
    auto [xml_rc, xml_out] = RunCommand(
        "python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
        "print(\"\".join(r.itertext()))' " +
        svg + " 2>&1");
    EXPECT_EQ(xml_rc, 0) << xml_out;
    EXPECT_THAT(xml_out, HasSubstr("a <b> & \"c\" 'd'"));  // the title, unescaped by the parser
    EXPECT_THAT(xml_out, HasSubstr("loss (log scale)"));
  }

  std::tie(rc, out) = Actctl("jobs --json");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("{\"jobs\":[{\"id\":\"" + id + "\""));
  EXPECT_THAT(out, HasSubstr("\"state\":\"JOB_STATE_SUCCEEDED\""));

  // Text and JSON say the same: (1, 1) and (1, -1) are in different classes of xor.
  std::tie(rc, out) = Actctl("predict --json --job=" + id + " --features='1,1;1,-1'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("\"outputs\":{\"shape\":[\"2\",\"2\"]"));
  const bool first_is_0 = absl::StrContains(out, "\"classes\":[\"0\",\"1\"]");
  EXPECT_TRUE(first_is_0 || absl::StrContains(out, "\"classes\":[\"1\",\"0\"]")) << out;
  std::tie(rc, out) = Actctl("predict --job=" + id + " --features='1,1;1,-1'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, ::testing::MatchesRegex(first_is_0 ? "[^\n]*class 0\n[^\n]*class 1\n"
                                                      : "[^\n]*class 1\n[^\n]*class 0\n"));
}

}  // namespace
}  // namespace actserve::testing
