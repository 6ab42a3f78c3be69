#include "server/metrics/exposer_options.h"

namespace actserve::server {

std::vector<std::string> ExposerOptions(const std::string& address) {
  return {
      "listening_ports",
      address,
      // One thread per connection being served: slow clients hold at most this many, for at
      // most the request timeout each, while a scrape takes another.
      "num_threads",
      std::to_string(kMetricsHttpThreads),
      // The whole request (line and headers) must arrive in this time; then the connection is
      // closed. A scrape is one short GET.
      "request_timeout_ms",
      std::to_string(kMetricsRequestTimeoutMs),
      // Scrapers open a connection per scrape: no idle keep-alive connections to hold threads.
      "enable_keep_alive",
      "no",
  };
}

std::unique_ptr<prometheus::Exposer> NewExposer(const std::string& address) {
  return std::make_unique<prometheus::Exposer>(ExposerOptions(address));
}

}  // namespace actserve::server
