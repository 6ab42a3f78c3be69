#include "client/actload/sweep.h"

#include "gtest/gtest.h"

namespace actserve::actload {
namespace {

SweepStep Step(double asked, double rps, double p99_us) {
  SweepStep s;
  s.set_asked(asked);
  s.set_achieved_rps(rps);
  s.set_requests(1000);
  s.mutable_latency_us()->set_p99(p99_us);
  return s;
}

TEST(ActloadSweepTest, SlosAndPlansParse) {
  auto slo = ParseSlo("p99.9<2.5ms");
  ASSERT_TRUE(slo.ok());
  EXPECT_EQ(slo->percentile, "p99.9");
  EXPECT_DOUBLE_EQ(slo->limit_us, 2500);
  EXPECT_FALSE(ParseSlo("p42<1ms").ok());
  EXPECT_FALSE(ParseSlo("p99>1ms").ok());
  auto plan = ParseSweep("rate:100:500:+100");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->values, (std::vector<double>{100, 200, 300, 400, 500}));
  EXPECT_EQ(ParseSweep("concurrency:1,2,8")->values, (std::vector<double>{1, 2, 8}));
  EXPECT_FALSE(ParseSweep("threads:1,2").ok());
  EXPECT_FALSE(ParseSweep("rate:0,1").ok());
}

TEST(ActloadSweepTest, StopsAtTheFirstMissAndFindsBestAndKnee) {
  SweepPlan plan{"concurrency", {1, 2, 4, 8, 16, 32}};
  Slo slo = *ParseSlo("p99<10ms");
  // Throughput grows to 4, flattens at 8 (+2%), and 16 misses the SLO.
  std::map<double, SweepStep> steps = {{1, Step(1, 1000, 1000)},    {2, Step(2, 1900, 1500)},
                                       {4, Step(4, 3500, 3000)},    {8, Step(8, 3570, 8000)},
                                       {16, Step(16, 3600, 20000)}, {32, Step(32, 3600, 40000)}};
  int runs = 0;
  Sweep s = RunSweep(plan, slo, [&](double v) {
    ++runs;
    return steps[v];
  });
  EXPECT_EQ(runs, 5);
  EXPECT_EQ(s.steps_size(), 5);
  EXPECT_FALSE(s.steps(4).meets_slo());
  EXPECT_EQ(s.best_asked(), 8);
  EXPECT_EQ(s.best_rps(), 3570);
  EXPECT_EQ(s.knee_asked(), 4);
  EXPECT_EQ(s.slo_us(), 10000);
}

}  // namespace
}  // namespace actserve::actload
