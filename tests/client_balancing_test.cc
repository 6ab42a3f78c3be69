// The client library's channels balance and retry: three real actserve processes behind one
// ipv4: target share the calls evenly (read from each server's own metrics), and when one is
// killed, calls keep succeeding on the others.
#include <signal.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/lib/activation_client.h"
#include "client/lib/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kServer[] = ACTSERVE_BINARY;
constexpr char kForwardOk[] =
    "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Forward\","
    "grpc_service=\"actserve.v1.ActivationService\",grpc_type=\"unary\"}";

// Forward calls that server `s` completed, from its /metrics.
double ForwardCalls(const ServerProcess& s) {
  auto [rc, text] = RunCommand("curl -sf " + s.metrics_url());
  EXPECT_EQ(rc, 0) << s.metrics_url();
  return std::max(0.0, MetricValue(text, kForwardOk));
}

class BalancingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> addresses;
    for (int i = 0; i < 3; ++i) {
      auto s = ServerProcess::Start(kServer, {});
      ASSERT_TRUE(s.ok()) << s.status();
      addresses.push_back((*s)->address());
      servers_.push_back(std::move(*s));
    }
    target_ = "ipv4:" + absl::StrJoin(addresses, ",");
  }

  // `n` Forward calls through `client`; returns how many failed (and the first failure).
  static int Calls(client::ActivationClient& client, int n, std::string* first_error) {
    int failed = 0;
    const std::vector<float> x = {-1, 0, 1};
    for (int i = 0; i < n; ++i) {
      absl::Status s = client.Forward("relu", {3}, x).status();
      if (!s.ok() && failed++ == 0) *first_error = s.ToString();
    }
    return failed;
  }

  std::vector<std::unique_ptr<ServerProcess>> servers_;
  std::string target_;
};

TEST(ServiceConfigTest, RoundRobinAndUnavailableRetriedWithBackOff) {
  client::ChannelOptions options;
  options.max_attempts = 9;
  const std::string json = client::ServiceConfigJson(options);
  EXPECT_THAT(json, HasSubstr("\"round_robin\""));
  EXPECT_THAT(json, HasSubstr("\"maxAttempts\":5"));  // gRPC's cap
  EXPECT_THAT(json, HasSubstr("\"retryableStatusCodes\":[\"UNAVAILABLE\"]"));
  EXPECT_THAT(json, HasSubstr("\"initialBackoff\":\"0.1s\""));
  options.max_attempts = 1;
  EXPECT_THAT(client::ServiceConfigJson(options), ::testing::Not(HasSubstr("retryPolicy")));
}

TEST_F(BalancingTest, RoundRobinGivesEachServerItsShareOfSixtyCalls) {
  auto client = client::ActivationClient::Connect(target_);
  std::string error;
  // Warm-up: until every server has answered, so that each subchannel is connected.
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Calls(*client, 3, &error), 0) << error;
    if (ForwardCalls(*servers_[0]) > 0 && ForwardCalls(*servers_[1]) > 0 &&
        ForwardCalls(*servers_[2]) > 0) {
      break;
    }
  }
  std::vector<double> before;
  for (const auto& s : servers_) before.push_back(ForwardCalls(*s));
  ASSERT_EQ(Calls(*client, 60, &error), 0) << error;
  double total = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    const double share = ForwardCalls(*servers_[i]) - before[i];
    total += share;
    EXPECT_NEAR(share, 20, 2) << "server " << i << " (" << servers_[i]->address() << ")";
  }
  EXPECT_EQ(total, 60);
}

TEST_F(BalancingTest, CallsKeepSucceedingWhenAServerIsKilled) {
  auto client = client::ActivationClient::Connect(target_);
  std::string error;
  ASSERT_EQ(Calls(*client, 30, &error), 0) << error;
  const double before1 = ForwardCalls(*servers_[1]), before2 = ForwardCalls(*servers_[2]);
  servers_[0]->Stop(SIGKILL, absl::Seconds(10));
  EXPECT_EQ(Calls(*client, 60, &error), 0) << error;
  const double after = ForwardCalls(*servers_[1]) - before1 + ForwardCalls(*servers_[2]) - before2;
  EXPECT_EQ(after, 60);
}

TEST_F(BalancingTest, ADnsTargetReachesTheServer) {
  auto client = client::ActivationClient::Connect("dns:///" + servers_[0]->address());
  std::string error;
  EXPECT_EQ(Calls(*client, 3, &error), 0) << error;
}

}  // namespace
}  // namespace actserve::testing
