// Coordinated omission, against the real server paused with SIGSTOP. Run alone (RUN_SERIAL):
// its tolerances assume the machine is not also running other load tests.
#include <signal.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/actload/actload_testing.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace actserve::actload {
namespace {

using ::actserve::actload::testing::Actload;
using ::actserve::actload::testing::CountAbove;
using ::actserve::actload::testing::LoadRun;
using ::actserve::testing::ServerProcess;

// Coordinated omission. The server is stopped (SIGSTOP) for `pause` in the middle of a run.
// Open loop at rate R: the calls due during the pause all wait for its end, so the maximum is
// at least the pause, and the calls due in its first half, R * pause / 2 of them, take more
// than pause / 2. Tolerance: -20% (arrival timing), +50%: after SIGCONT the server works off
// the R * pause queued calls, which delays those due in the pause's second half past pause / 2
// (up to a third of them when catching up takes 0.15 s). Closed loop with C calls in flight: only
// the C calls caught by the pause are slow; the client sends nothing meanwhile, so the slow calls
// are at most C (plus C for a late completion's successor) and the p99 hides the stall.
struct PausedRun {
  Report report;
  double pause_us = 0;
};

PausedRun RunWithPause(const std::string& load_args) {
  // A compute queue long enough for every call sent during the pause.
  auto s = ServerProcess::Start(ACTSERVE_BINARY, {"--max_queued=4096"});
  EXPECT_TRUE(s.ok());
  PausedRun out;
  if (!s.ok()) return out;
  LoadRun r;
  std::thread load([&] {
    r = Actload(absl::StrCat("--server=", (*s)->address(), " ", load_args,
                             " --duration=4s --warmup=0.5s --deadline=20s"));
  });
  absl::SleepFor(absl::Seconds(2));
  const absl::Time stopped = absl::Now();
  kill((*s)->pid(), SIGSTOP);
  absl::SleepFor(absl::Seconds(1));
  const absl::Time resumed = absl::Now();
  kill((*s)->pid(), SIGCONT);
  load.join();
  EXPECT_EQ(r.status, 0) << r.stdout_text;
  out.report = r.report;
  out.pause_us = absl::ToDoubleMicroseconds(resumed - stopped);
  return out;
}

TEST(ActloadCoordinatedOmissionTest, OpenLoopChargesAPauseToEveryCallItDelayed) {
  constexpr double kRate = 200;
  PausedRun open = RunWithPause(absl::StrCat("--rate=", kRate));
  const Report& r = open.report;
  const double expected = kRate * open.pause_us / 1e6 / 2;
  const double slow = CountAbove(r, open.pause_us / 2);
  std::printf(
      "open loop: pause %.0f ms, max %.0f ms, calls >= pause/2: %.0f of %.0f "
      "(expected %.0f), p99 %.0f ms\n",
      open.pause_us / 1e3, r.latency_us().max() / 1e3, slow, r.requests(), expected,
      r.latency_us().p99() / 1e3);
  // The arrival due just after SIGSTOP waits the whole pause, less its distance from it.
  EXPECT_GE(r.latency_us().max(), open.pause_us - 1e6 / kRate);
  EXPECT_GE(slow, 0.8 * expected);
  EXPECT_LE(slow, 1.5 * expected);
  EXPECT_GT(r.latency_us().p99(), open.pause_us / 2);  // 3% of the calls or more are slow
  EXPECT_EQ(r.errors(), 0);

  PausedRun closed = RunWithPause("--concurrency=4");
  const double closed_slow = CountAbove(closed.report, closed.pause_us / 2);
  std::printf(
      "closed loop: pause %.0f ms, max %.0f ms, calls >= pause/2: %.0f of %.0f, "
      "p99 %.3f ms\n",
      closed.pause_us / 1e3, closed.report.latency_us().max() / 1e3, closed_slow,
      closed.report.requests(), closed.report.latency_us().p99() / 1e3);
  EXPECT_GE(closed.report.latency_us().max(), 0.9 * closed.pause_us);
  EXPECT_LE(closed_slow, 8);
  EXPECT_LT(closed.report.latency_us().p99(), closed.pause_us / 2);
}

}  // namespace
}  // namespace actserve::actload
