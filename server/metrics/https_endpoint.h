// HttpsMetricsEndpoint: /metrics over HTTPS, for --metrics_tls.
//
// prometheus-cpp's Exposer serves plain HTTP through civetweb, and Debian 12's civetweb 1.15
// crashes on its first HTTPS connection (server/auth/README.md). This endpoint serves the same
// collectables, in the same text format, with libmicrohttpd over GnuTLS instead:
//   - GET /metrics only (404 elsewhere, 405 for other methods);
//   - a connection must send its request within kMetricsRequestTimeoutMs (exposer_options.h),
//     and at most kMaxConnections are open at once, served by kThreads threads, so that slow or
//     half-open clients cannot stall scrapes;
//   - the certificate and key are read once, at start (a rotation needs a restart, unlike the
//     gRPC port).
// Thread-safe.
#ifndef ACTSERVE_SERVER_METRICS_HTTPS_ENDPOINT_H_
#define ACTSERVE_SERVER_METRICS_HTTPS_ENDPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"

struct MHD_Daemon;

namespace actserve::server {

class HttpsMetricsEndpoint {
 public:
  static constexpr int kThreads = 4;
  static constexpr int kMaxConnections = 64;

  // Listens on `address` (numeric IPv4 host:port; port 0 picks one) with the PEM certificate
  // chain at `cert_path` and its key at `key_path`. INVALID_ARGUMENT naming what is wrong (an
  // unreadable file, an address that is not IPv4 host:port), UNAVAILABLE when it cannot listen
  // or TLS cannot start with these files.
  static absl::StatusOr<std::unique_ptr<HttpsMetricsEndpoint>> Start(const std::string& address,
                                                                     const std::string& cert_path,
                                                                     const std::string& key_path);
  ~HttpsMetricsEndpoint();
  HttpsMetricsEndpoint(const HttpsMetricsEndpoint&) = delete;
  HttpsMetricsEndpoint& operator=(const HttpsMetricsEndpoint&) = delete;

  // Adds what /metrics serves, as prometheus::Exposer::RegisterCollectable does (held weakly).
  void RegisterCollectable(const std::weak_ptr<prometheus::Collectable>& collectable);

  // The port it listens on.
  int port() const { return port_; }

  // What GET /metrics answers: the exposition text of every registered collectable still alive.
  std::string Scrape() const;

 private:
  HttpsMetricsEndpoint() = default;

  std::string cert_, key_;  // libmicrohttpd keeps pointers to them
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  mutable absl::Mutex mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_METRICS_HTTPS_ENDPOINT_H_
