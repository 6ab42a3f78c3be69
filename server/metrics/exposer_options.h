// The HTTP server behind /metrics (prometheus-cpp's Exposer runs civetweb), set up so that slow
// or half-sent requests cannot stall scrapes: every request must arrive within
// kMetricsRequestTimeoutMs, and kMetricsHttpThreads connections are served at once. With the
// defaults (2 threads, 30 s) two half-sent requests blocked /metrics for 30 s, past Prometheus's
// 10 s scrape timeout.
#ifndef ACTSERVE_SERVER_METRICS_EXPOSER_OPTIONS_H_
#define ACTSERVE_SERVER_METRICS_EXPOSER_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include "prometheus/exposer.h"

namespace actserve::server {

inline constexpr int kMetricsHttpThreads = 16;
inline constexpr int kMetricsRequestTimeoutMs = 2000;

// civetweb's options for an Exposer listening on `address` (host:port; port 0 picks one).
std::vector<std::string> ExposerOptions(const std::string& address);

// An Exposer with those options. Throws as prometheus::Exposer does when it cannot listen.
std::unique_ptr<prometheus::Exposer> NewExposer(const std::string& address);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_METRICS_EXPOSER_OPTIONS_H_
