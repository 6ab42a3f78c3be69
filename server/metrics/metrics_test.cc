#include "server/metrics/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Scrape(const Metrics& m,
                   std::shared_ptr<prometheus::Collectable> state = NewStateCollector({})) {
  std::vector<prometheus::MetricFamily> families;
  std::vector<std::shared_ptr<prometheus::Collectable>> all = m.Collectables();
  all.push_back(state);
  for (const auto& c : all) {
    auto f = c->Collect();
    families.insert(families.end(), f.begin(), f.end());
  }
  return prometheus::TextSerializer().Serialize(families);
}

TEST(MetricsTest, MethodsOutsideTheRegisteredServicesShareOneLabelSet) {
  Metrics m;
  const Metrics::MethodMetrics& forward = m.ForMethod("/actserve.v1.ActivationService/Forward");
  const Metrics::MethodMetrics& bogus1 = m.ForMethod("/evil.Service/AAAA");
  const Metrics::MethodMetrics& bogus2 = m.ForMethod("/evil.Service/BBBB");
  EXPECT_NE(&forward, &bogus1);
  EXPECT_EQ(&bogus1, &bogus2);
  bogus1.started->Increment();
  std::string text = Scrape(m);
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{grpc_method=\"unknown\","
                              "grpc_service=\"unknown\",grpc_type=\"unknown\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("evil")));
  EXPECT_THAT(text, HasSubstr("grpc_type=\"bidi_stream\""));  // Evaluate, from the descriptor
}

TEST(MetricsTest, ComputeIsCountedByActivationDirectionAndDtype) {
  Metrics m;
  auto state = NewStateCollector({.in_flight = [] { return 3; }, .queue_depth = [] { return 7; }});
  m.RecordCompute(ActivationId::kMish, /*backward=*/true, /*fp64=*/true, "cpu", 1000, 0.002);
  m.RecordRejection();
  std::string text = Scrape(m, state);
  EXPECT_THAT(text, HasSubstr("actserve_elements_total{activation=\"mish\",backend=\"cpu\","
                              "direction=\"backward\",dtype=\"float64\"} 1000"));
  EXPECT_THAT(
      text, HasSubstr("actserve_compute_seconds_count{backend=\"cpu\",direction=\"backward\"} 1"));
  EXPECT_THAT(text, HasSubstr("actserve_compute_rejections_total 1"));
  EXPECT_THAT(text, HasSubstr("actserve_requests_in_flight 3"));
  EXPECT_THAT(text, HasSubstr("actserve_compute_queue_depth 7"));
  EXPECT_THAT(text, HasSubstr("process_open_fds"));
}

}  // namespace
}  // namespace actserve::server
