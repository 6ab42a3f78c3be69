// actload against the real actserve binary on 127.0.0.1: every mode, workload, report format
// and the sweep, errors by code, back-off and several replicas. The coordinated-omission test
// is actload_coordinated_omission_test.cc.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/actload/actload_testing.h"
#include "client/actload/report.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace actserve::actload {
namespace {

using ::actserve::actload::testing::Actload;
using ::actserve::actload::testing::HistogramCount;
using ::actserve::actload::testing::LoadRun;
using ::actserve::actload::testing::ReadFile;
using ::actserve::testing::RunCommand;
using ::actserve::testing::ServerProcess;
using ::testing::HasSubstr;

class ActloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = ServerProcess::Start(ACTSERVE_BINARY, {"--max_elements=2000"});
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string Target() { return " --server=" + server_->address() + " "; }
  static std::string Metrics() { return " --metrics=" + server_->metrics_url() + " "; }
  static ServerProcess* server_;
};
ServerProcess* ActloadTest::server_ = nullptr;

TEST_F(ActloadTest, ClosedLoopCountsEveryCallAndWritesEveryFormat) {
  const std::string dir = ::testing::TempDir();
  const std::string csv = dir + "/actload_closed.csv", svg = dir + "/actload_closed.svg";
  LoadRun r = Actload(Target() + Metrics() + "--concurrency=4 --duration=1.5s --warmup=0.2s " +
                      "--interval=0.5s --csv=" + csv + " --svg=" + svg);
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  const Report& rep = r.report;
  EXPECT_EQ(rep.mode(), "closed");
  EXPECT_EQ(rep.asked_concurrency(), 4);
  EXPECT_GT(rep.requests(), 100);
  EXPECT_EQ(rep.errors(), 0);
  EXPECT_EQ(HistogramCount(rep), rep.requests());
  EXPECT_GT(rep.achieved_rps(), 0);
  EXPECT_LE(rep.latency_us().p50(), rep.latency_us().p99());
  EXPECT_LE(rep.latency_us().p99(), rep.latency_us().p99_99());
  EXPECT_LE(rep.latency_us().p99_99(), rep.latency_us().max());
  EXPECT_GE(rep.intervals_size(), 3);
  // The server saw at least the measured calls (and the warm-up's), all OK.
  EXPECT_EQ(rep.server().error(), "");
  EXPECT_GE(rep.server().handled(), rep.requests());
  EXPECT_GE(rep.server().handled_by_code().at("OK"), rep.requests());
  EXPECT_GT(rep.server().handling_us().p50(), 0);
  EXPECT_GT(rep.server().cpu_seconds(), 0);
  // The table on stdout, the CSV (one row per interval) and the SVG.
  EXPECT_THAT(r.stdout_text, HasSubstr("p99.99"));
  EXPECT_THAT(r.stdout_text, HasSubstr("server"));
  std::vector<std::string> rows = absl::StrSplit(ReadFile(csv), '\n', absl::SkipEmpty());
  EXPECT_EQ(rows.size(), static_cast<size_t>(rep.intervals_size() + 1));
  EXPECT_TRUE(absl::StartsWith(rows[0], "t_s,asked,requests"));
  const std::string chart = ReadFile(svg);
  for (const char* series :
       {">asked<", ">achieved<", ">p50<", ">p90<", ">p99<", ">p99.9<", ">max<"}) {
    EXPECT_THAT(chart, HasSubstr(series));
  }
  std::remove(csv.c_str());
  std::remove(svg.c_str());
}

TEST_F(ActloadTest, OpenLoopPoissonArrivalsKeepTheAskedRate) {
  LoadRun r = Actload(Target() +
                      "--rate=200 --arrivals=poisson --workload=backward --activation=gelu "
                      "--duration=2s --warmup=0.2s");
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  EXPECT_EQ(r.report.mode(), "open");
  EXPECT_EQ(r.report.arrivals(), "poisson");
  EXPECT_EQ(r.report.asked_rps(), 200);
  EXPECT_NEAR(r.report.achieved_rps(), 200, 30);  // Poisson: 400 +- 20 arrivals in 2 s
  EXPECT_EQ(r.report.errors(), 0);
  EXPECT_THAT(r.stdout_text, HasSubstr("intended send time"));
}

TEST_F(ActloadTest, AnOpenLoopThatCannotKeepUpSaysSo) {
  // Two calls in flight at most cannot carry 20000 calls/s: arrivals wait in the backlog.
  LoadRun r = Actload(Target() + "--rate=20000 --max_in_flight=2 --duration=1s --warmup=0s");
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  EXPECT_FALSE(r.report.kept_up());
  EXPECT_LT(r.report.achieved_rps(), 0.95 * r.report.asked_rps());
  EXPECT_GT(r.report.max_backlog(), 1000);
  // Calls are timed from their intended send time, so the waiting shows in the latency.
  EXPECT_GT(r.report.latency_us().max(), 100000);
  EXPECT_THAT(r.stdout_text, HasSubstr("DID NOT KEEP UP"));
}

TEST_F(ActloadTest, ARequestCountEndsTheRun) {
  LoadRun r = Actload(Target() + "--concurrency=4 --requests=300 --duration=60s --warmup=0.1s");
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  EXPECT_EQ(r.report.requests(), 300);
  EXPECT_EQ(r.report.stop_reason(), "requests");
}

TEST_F(ActloadTest, AStepScheduleRaisesTheRateStepByStep) {
  LoadRun r = Actload(Target() + "--rate=100:300:+100/1s --warmup=0.1s --interval=0.5s");
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  EXPECT_NEAR(r.report.asked_rps(), 200, 2);  // the mean over the 3 s
  // Each 1 s step's intervals (ends at 0.5 and 1.0 s for the first) average its rate.
  double sum[3] = {0, 0, 0}, n[3] = {0, 0, 0};
  for (const Interval& iv : r.report.intervals()) {
    const int step = static_cast<int>(std::ceil(iv.t_s() - 1e-6)) - 1;
    if (step < 0 || step > 2) continue;
    sum[step] += iv.achieved_rps();
    ++n[step];
  }
  for (int step = 0; step < 3; ++step) {
    ASSERT_GT(n[step], 0) << step;
    EXPECT_NEAR(sum[step] / n[step], 100 * (step + 1), 30 * (step + 1)) << step;
  }
  EXPECT_EQ(r.report.intervals(0).asked(), 100);
}

TEST_F(ActloadTest, EvaluateStreamsPipelineAMixAndKeepEachErrorsCode) {
  const std::string mix = ::testing::TempDir() + "/actload_mix.txt";
  std::ofstream(mix) << "forward weight=3 activation=relu,tanh elements=16:3,256\n"
                        "backward weight=1 activation=swish dtype=float64\n"
                        "forward weight=1 activation=nonexistent\n";
  LoadRun r = Actload(Target() + "--workload=mix --mix=" + mix +
                      " --stream --streams=2 --stream_depth=4 --concurrency=8 --duration=1s "
                      "--warmup=0.1s");
  std::remove(mix.c_str());
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  const Report& rep = r.report;
  EXPECT_THAT(rep.workload(), HasSubstr("Evaluate streams"));
  EXPECT_GT(rep.ok(), 100);
  // A fifth of the calls name an unknown activation: INVALID_ARGUMENT in the stream's error
  // responses, counted as such (the stream goes on).
  ASSERT_EQ(rep.errors_by_code().size(), 1u);
  EXPECT_EQ(rep.errors_by_code().at("INVALID_ARGUMENT"), rep.errors());
  EXPECT_NEAR(rep.errors() / rep.requests(), 0.2, 0.05);
  ASSERT_EQ(rep.first_errors_size(), 1);
  EXPECT_THAT(rep.first_errors(0).messages(0), HasSubstr("nonexistent"));
}

TEST_F(ActloadTest, ErrorsKeepTheirCodesAndMaxErrorRateStopsEarly) {
  const absl::Time start = absl::Now();
  LoadRun r =
      Actload(Target() +
              "--activation=nonexistent --max_error_rate=0.5 --concurrency=2 --duration=30s "
              "--warmup=0s");
  EXPECT_EQ(r.status, 3) << r.stdout_text;
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  EXPECT_EQ(r.report.stop_reason(), "max_error_rate");
  EXPECT_EQ(r.report.errors_by_code().at("INVALID_ARGUMENT"), r.report.requests());
}

TEST_F(ActloadTest, ResourceExhaustedIsCountedApartAndBacksOff) {
  // The server takes at most 2000 elements per tensor: the 4096-element calls are refused.
  const std::string mix = ::testing::TempDir() + "/actload_limit.txt";
  std::ofstream(mix) << "forward elements=64,4096\n";
  LoadRun r = Actload(Target() + "--workload=mix --mix=" + mix +
                      " --concurrency=2 --duration=1s --warmup=0s --backoff --backoff_base=1ms "
                      "--backoff_max=5ms");
  std::remove(mix.c_str());
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  EXPECT_GT(r.report.errors_by_code().at("RESOURCE_EXHAUSTED"), 0);
  EXPECT_EQ(r.report.errors_by_code().size(), 1u);
  EXPECT_GT(r.report.ok(), 0);
  EXPECT_GT(r.report.backoffs(), 0);
}

TEST_F(ActloadTest, TrainingJobsRunToTheirEnd) {
  LoadRun r = Actload(Target() + "--workload=train --concurrency=2 --duration=1.5s --warmup=0.2s");
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  EXPECT_GT(r.report.requests(), 0);
  EXPECT_EQ(r.report.errors(), 0);
  // The default job: 64 rows in batches of 16 for 2 epochs, 8 steps each.
  EXPECT_EQ(r.report.train_steps(), 8 * r.report.requests());
  EXPECT_THAT(r.stdout_text, HasSubstr("training steps"));
}

TEST_F(ActloadTest, ASweepFindsTheBestThroughputWithinTheSloAndDrawsTheCurve) {
  const std::string svg = ::testing::TempDir() + "/actload_sweep.svg";
  LoadRun r = Actload(
      Target() + Metrics() +
      "--sweep=concurrency:1,2,4 '--slo=p99<2s' --sweep_step=0.6s --warmup=0.2s --svg=" + svg);
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  const Sweep& s = r.report.sweep();
  ASSERT_EQ(s.steps_size(), 3);
  for (const SweepStep& st : s.steps()) {
    EXPECT_TRUE(st.meets_slo());
    EXPECT_GT(st.achieved_rps(), 0);
    EXPECT_GE(st.server().handled(), st.requests());
  }
  EXPECT_GT(s.best_rps(), 0);
  EXPECT_GT(s.knee_asked(), 0);
  EXPECT_EQ(r.report.requests(),
            s.steps(0).requests() + s.steps(1).requests() + s.steps(2).requests());
  EXPECT_THAT(r.stdout_text, HasSubstr("best within SLO"));
  const std::string chart = ReadFile(svg);
  EXPECT_THAT(chart, HasSubstr("latency (ms) vs throughput"));
  EXPECT_THAT(chart, HasSubstr(">SLO<"));
  std::remove(svg.c_str());

  // An SLO nothing meets: the sweep stops after its first step.
  LoadRun tight = Actload(Target() +
                          "--sweep=rate:50,100,200 '--slo=p50<1us' --sweep_step=0.3s "
                          "--warmup=0.1s");
  ASSERT_EQ(tight.status, 0) << tight.stdout_text;
  EXPECT_EQ(tight.report.sweep().steps_size(), 1);
  EXPECT_FALSE(tight.report.sweep().steps(0).meets_slo());
  EXPECT_EQ(tight.report.sweep().best_rps(), 0);
  EXPECT_EQ(tight.report.mode(), "open");
}

TEST_F(ActloadTest, ProgressIsPlainLinesWithoutATerminalAndALiveLineOnRequest) {
  auto [status, plain] = RunCommand(absl::StrCat(ACTLOAD_BINARY, Target(),
                                                 "--duration=1s --warmup=0s --interval=0.25s "
                                                 "2>&1 >/dev/null"));
  ASSERT_EQ(status, 0) << plain;
  EXPECT_GE(std::count(plain.begin(), plain.end(), '\n'), 3);
  EXPECT_EQ(plain.find('\r'), std::string::npos);
  EXPECT_THAT(plain, HasSubstr("req/s  p99"));
  auto [status2, live] = RunCommand(absl::StrCat(ACTLOAD_BINARY, Target(),
                                                 "--progress=line --duration=1s --warmup=0s "
                                                 "--interval=0.25s 2>&1 >/dev/null"));
  ASSERT_EQ(status2, 0) << live;
  EXPECT_GE(std::count(live.begin(), live.end(), '\r'), 3);
}

TEST_F(ActloadTest, BadUsageSaysWhy) {
  auto [status, out] = RunCommand(absl::StrCat(ACTLOAD_BINARY, " --rate=abc 2>&1"));
  EXPECT_EQ(status, 2);
  EXPECT_THAT(out, HasSubstr("not a positive number"));
  auto [status2, help] = RunCommand(absl::StrCat(ACTLOAD_BINARY, " --help 2>&1"));
  EXPECT_THAT(help, HasSubstr("coordinated omission"));
}

// Two replicas behind one ipv4: target with round_robin, three channels: both serve calls.
TEST(ActloadReplicasTest, RoundRobinSpreadsCallsOverReplicas) {
  auto a = ServerProcess::Start(ACTSERVE_BINARY, {});
  auto b = ServerProcess::Start(ACTSERVE_BINARY, {});
  ASSERT_TRUE(a.ok() && b.ok());
  LoadRun r =
      Actload(absl::StrCat("--server=ipv4:", (*a)->address(), ",", (*b)->address(),
                           " --channels=3 --metrics=", (*a)->metrics_url(), ",",
                           (*b)->metrics_url(), " --concurrency=6 --duration=1s --warmup=0.1s"));
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  ASSERT_EQ(r.report.server().handled_by_replica_size(), 2);
  for (const auto& [url, n] : r.report.server().handled_by_replica()) {
    EXPECT_GT(n, 0.2 * r.report.requests()) << url;
  }
}

// A server that dies mid-run: UNAVAILABLE, and back-off keeps the error count small.
TEST(ActloadBackoffTest, UnavailableBacksOffInsteadOfFlooding) {
  auto s = ServerProcess::Start(ACTSERVE_BINARY, {});
  ASSERT_TRUE(s.ok());
  LoadRun r;
  std::thread load([&] {
    r = Actload(absl::StrCat("--server=", (*s)->address(),
                             " --concurrency=4 --duration=2.5s --warmup=0s --backoff "
                             "--backoff_base=20ms --backoff_max=500ms --deadline=2s"));
  });
  absl::SleepFor(absl::Seconds(1));
  (*s)->Stop(SIGKILL, absl::Seconds(5));
  load.join();
  ASSERT_EQ(r.status, 0) << r.stdout_text;
  ASSERT_GT(r.report.errors_by_code().count("UNAVAILABLE"), 0u) << r.stdout_text;
  EXPECT_GT(r.report.ok(), 0);
  EXPECT_GT(r.report.backoffs(), 0);
  // 1.5 s down: without back-off the 4 slots fail in a tight loop (thousands of errors).
  EXPECT_LT(r.report.errors(), 200);
}

}  // namespace
}  // namespace actserve::actload
