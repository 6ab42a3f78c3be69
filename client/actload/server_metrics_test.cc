#include "client/actload/server_metrics.h"

#include "gtest/gtest.h"

namespace actserve::actload {
namespace {

std::string Exposition(double b1, double b10, double inf, double ok, double cpu) {
  return absl::StrCat(
      "# TYPE grpc_server_handling_seconds histogram\n",
      "grpc_server_handling_seconds_bucket{grpc_method=\"Forward\",le=\"0.001\"} ", b1, "\n",
      "grpc_server_handling_seconds_bucket{grpc_method=\"Forward\",le=\"0.01\"} ", b10, "\n",
      "grpc_server_handling_seconds_bucket{grpc_method=\"Forward\",le=\"+Inf\"} ", inf, "\n",
      "grpc_server_handled_total{grpc_method=\"Forward\",grpc_code=\"OK\"} ", ok, "\n",
      "grpc_server_handled_total{grpc_method=\"Forward\",grpc_code=\"UNAVAILABLE\"} 2\n",
      "actserve_compute_rejections_total 1\nactserve_compute_queue_depth 3\n",
      "process_cpu_seconds_total ", cpu, "\n");
}

TEST(ActloadServerMetricsTest, DiffInterpolatesHandlingTimesAndSubtractsCounters) {
  Scrape before, after;
  AddExposition(Exposition(10, 10, 10, 10, 1.0), "a", &before);
  // 100 new calls: 50 under 1 ms, 50 between 1 and 10 ms.
  AddExposition(Exposition(60, 110, 110, 110, 3.0), "a", &after);
  ServerSide s = Diff(before, after, 4.0);
  EXPECT_DOUBLE_EQ(s.handling_us().p50(), 1000);
  EXPECT_DOUBLE_EQ(s.handling_us().p90(), 1000 + 9000 * 0.8);
  EXPECT_DOUBLE_EQ(s.handled(), 100);
  EXPECT_DOUBLE_EQ(s.handled_by_code().at("OK"), 100);
  EXPECT_EQ(s.handled_by_code().count("UNAVAILABLE"), 0u);
  EXPECT_DOUBLE_EQ(s.rejections(), 0);
  EXPECT_DOUBLE_EQ(s.compute_queue_depth(), 3);
  EXPECT_DOUBLE_EQ(s.cpu_cores(), 0.5);
}

TEST(ActloadServerMetricsTest, AnUnreachableUrlIsReportedNotFatal) {
  Scrape s = TakeScrape({"http://127.0.0.1:1/metrics"});
  EXPECT_NE(s.error, "");
  EXPECT_FALSE(HttpGet("ftp://x/").ok());
}

}  // namespace
}  // namespace actserve::actload
