#include "server/metrics/exposer_options.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace actserve::server {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP connection to 127.0.0.1:`port`, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{.tv_sec = 30, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  return send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// Everything the server sends until it closes (or 30 s pass).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, n);
  return out;
}

class ExposerOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    exposer_ = NewExposer("127.0.0.1:0");
    registry_ = std::make_shared<prometheus::Registry>();
    prometheus::BuildCounter()
        .Name("exposer_test_total")
        .Help("t")
        .Register(*registry_)
        .Add({})
        .Increment();
    exposer_->RegisterCollectable(registry_);
    port_ = exposer_->GetListeningPorts().front();
  }
  void TearDown() override {
    for (int fd : slow_) close(fd);
  }

  // `n` connections that send half a request and then nothing.
  void HoldSlowClients(int n) {
    for (int i = 0; i < n; ++i) {
      int fd = Connect(port_);
      ASSERT_GE(fd, 0);
      ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
      slow_.push_back(fd);
    }
  }

  // Seconds a complete scrape takes; fails the test unless it returns the metrics.
  double Scrape() {
    const Clock::time_point start = Clock::now();
    int fd = Connect(port_);
    EXPECT_GE(fd, 0);
    EXPECT_TRUE(SendAll(fd, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
    std::string response = ReadAll(fd);
    close(fd);
    EXPECT_NE(response.find("200 OK"), std::string::npos) << response.substr(0, 200);
    EXPECT_NE(response.find("exposer_test_total 1"), std::string::npos) << response.substr(0, 400);
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_ = 0;
  std::vector<int> slow_;
};

TEST_F(ExposerOptionsTest, OptionsNameTheAddressThreadsAndTimeout) {
  std::vector<std::string> options = ExposerOptions("127.0.0.1:9464");
  ASSERT_EQ(options.size() % 2, 0u);
  std::map<std::string, std::string> by_name;
  for (size_t i = 0; i < options.size(); i += 2) by_name[options[i]] = options[i + 1];
  EXPECT_EQ(by_name["listening_ports"], "127.0.0.1:9464");
  EXPECT_EQ(by_name["num_threads"], std::to_string(kMetricsHttpThreads));
  EXPECT_EQ(by_name["request_timeout_ms"], std::to_string(kMetricsRequestTimeoutMs));
}

// Prometheus gives up on a scrape after 10 s; with civetweb's defaults (2 threads, 30 s) two
// half-sent requests made every scrape wait 30 s.
TEST_F(ExposerOptionsTest, ScrapeAnswersAtOnceWhileSlowClientsHoldConnections) {
  HoldSlowClients(kMetricsHttpThreads - 4);
  EXPECT_LT(Scrape(), 1.5);
}

TEST_F(ExposerOptionsTest, MoreSlowClientsThanThreadsDelayAScrapeByAFewTimeoutsAtMost) {
  HoldSlowClients(2 * kMetricsHttpThreads + 8);
  // Two rounds of timed-out slow clients at most come before the scrape.
  EXPECT_LT(Scrape(), 3.0 * kMetricsRequestTimeoutMs / 1000 + 1.5);
}

TEST_F(ExposerOptionsTest, HalfSentRequestIsClosedAfterTheRequestTimeout) {
  HoldSlowClients(1);
  const Clock::time_point start = Clock::now();
  std::string response = ReadAll(slow_[0]);  // returns when the server closes
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LT(seconds, kMetricsRequestTimeoutMs / 1000.0 + 3.0);
  EXPECT_EQ(response.find("200 OK"), std::string::npos) << response;
}

}  // namespace
}  // namespace actserve::server
