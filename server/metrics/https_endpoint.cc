#include "server/metrics/https_endpoint.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"
#include "server/metrics/exposer_options.h"

namespace actserve::server {
namespace {

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics_tls: cannot read ", flag, "=", path));
  }
  return text.str();
}

// `address` ("A.B.C.D:PORT") as a socket address.
absl::StatusOr<sockaddr_in> ParseAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in out{};
  out.sin_family = AF_INET;
  int port = -1;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &out.sin_addr) != 1 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_tls needs --metrics_address as a numeric IPv4 host:port, got \"",
                     address, "\""));
  }
  out.sin_port = htons(static_cast<uint16_t>(port));
  return out;
}

MHD_Result Respond(MHD_Connection* connection, unsigned int code, const std::string& body,
                   const char* content_type) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, "Content-Type", content_type);
  const MHD_Result result = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return result;
}

// libmicrohttpd's request handler; `self` is the endpoint.
MHD_Result Answer(void* self, MHD_Connection* connection, const char* url, const char* method,
                  const char*, const char*, size_t*, void**) {
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    return Respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "text/plain");
  }
  if (std::strcmp(url, "/metrics") != 0) {
    return Respond(connection, MHD_HTTP_NOT_FOUND, "only /metrics is served\n", "text/plain");
  }
  return Respond(connection, MHD_HTTP_OK, static_cast<HttpsMetricsEndpoint*>(self)->Scrape(),
                 "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpsMetricsEndpoint>> HttpsMetricsEndpoint::Start(
    const std::string& address, const std::string& cert_path, const std::string& key_path) {
  absl::StatusOr<sockaddr_in> addr = ParseAddress(address);
  if (!addr.ok()) return addr.status();
  std::unique_ptr<HttpsMetricsEndpoint> endpoint(new HttpsMetricsEndpoint());
  absl::StatusOr<std::string> cert = ReadPem("--tls_cert", cert_path);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem("--tls_key", key_path);
  if (!key.ok()) return key.status();
  endpoint->cert_ = *std::move(cert);
  endpoint->key_ = *std::move(key);
  endpoint->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, nullptr, nullptr, &Answer, endpoint.get(),
      MHD_OPTION_SOCK_ADDR, &*addr, MHD_OPTION_HTTPS_MEM_CERT, endpoint->cert_.c_str(),
      MHD_OPTION_HTTPS_MEM_KEY, endpoint->key_.c_str(), MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned int>(kThreads), MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(kMaxConnections), MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>((kMetricsRequestTimeoutMs + 999) / 1000), MHD_OPTION_END);
  if (endpoint->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("--metrics_tls: cannot serve HTTPS on ", address,
                     " (address in use, or the certificate and key cannot be used by GnuTLS)"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(endpoint->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  endpoint->port_ = info != nullptr ? info->port : ntohs(addr->sin_port);
  return endpoint;
}

HttpsMetricsEndpoint::~HttpsMetricsEndpoint() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

void HttpsMetricsEndpoint::RegisterCollectable(
    const std::weak_ptr<prometheus::Collectable>& collectable) {
  absl::MutexLock lock(&mu_);
  collectables_.push_back(collectable);
}

std::string HttpsMetricsEndpoint::Scrape() const {
  std::vector<prometheus::MetricFamily> families;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& weak : collectables_) {
      if (std::shared_ptr<prometheus::Collectable> c = weak.lock()) {
        std::vector<prometheus::MetricFamily> more = c->Collect();
        families.insert(families.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
      }
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace actserve::server
