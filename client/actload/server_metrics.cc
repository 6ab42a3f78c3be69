#include "client/actload/server_metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace actserve::actload {
namespace {

// The value of label `name` in a sample's "{a="x",b="y"}" part, or "".
std::string Label(absl::string_view labels, absl::string_view name) {
  const std::string key = absl::StrCat(name, "=\"");
  size_t p = labels.find(key);
  if (p == absl::string_view::npos) return "";
  p += key.size();
  size_t q = labels.find('"', p);
  return std::string(labels.substr(p, q - p));
}

double Quantile(const std::map<double, double>& le, double q) {
  if (le.empty()) return 0;
  const double total = le.rbegin()->second;
  if (total <= 0) return 0;
  const double rank = q * total;
  double prev_le = 0, prev_count = 0;
  for (auto [bound, count] : le) {
    if (count >= rank) {
      if (std::isinf(bound)) return prev_le;  // beyond the last finite bucket
      if (count == prev_count) return bound;
      return prev_le + (bound - prev_le) * (rank - prev_count) / (count - prev_count);
    }
    prev_le = bound;
    prev_count = count;
  }
  return prev_le;
}

}  // namespace

absl::StatusOr<std::string> HttpGet(const std::string& url, double timeout_s) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("metrics URL ", url, " is not http://"));
  }
  const size_t slash = rest.find('/');
  const std::string hostport(rest.substr(0, slash));
  const std::string path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  const size_t colon = hostport.rfind(':');
  const std::string host = hostport.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", hostport));
  }
  const int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  timeval tv{static_cast<time_t>(timeout_s),
             static_cast<suseconds_t>((timeout_s - std::floor(timeout_s)) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", hostport));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", hostport, "\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot send to ", hostport));
  }
  std::string response;
  char buf[16384];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, n);
  close(fd);
  if (n < 0) return absl::UnavailableError(absl::StrCat("no complete answer from ", url));
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") || body == std::string::npos ||
      response.find(" 200") > response.find("\r\n")) {
    return absl::UnavailableError(
        absl::StrCat(url, " answered: ", response.substr(0, response.find("\r\n"))));
  }
  return response.substr(body + 4);
}

void AddExposition(const std::string& text, const std::string& replica, Scrape* s) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    double value;
    if (!absl::SimpleAtod(line.substr(space + 1), &value)) continue;
    absl::string_view head = line.substr(0, space);
    const size_t brace = head.find('{');
    absl::string_view name = head.substr(0, brace);
    absl::string_view labels = brace == absl::string_view::npos ? "" : head.substr(brace);
    if (name == "grpc_server_handling_seconds_bucket") {
      double le;
      const std::string l = Label(labels, "le");
      if (l == "+Inf") {
        le = std::numeric_limits<double>::infinity();
      } else if (!absl::SimpleAtod(l, &le)) {
        continue;
      }
      s->handling_le[le] += value;
    } else if (name == "grpc_server_handled_total") {
      s->handled_by_code[Label(labels, "grpc_code")] += value;
      s->handled_by_replica[replica] += value;
    } else if (name == "actserve_compute_rejections_total") {
      s->rejections += value;
    } else if (name == "actserve_compute_queue_depth") {
      s->queue_depth += value;
    } else if (name == "process_cpu_seconds_total") {
      s->cpu_seconds += value;
    }
  }
}

Scrape TakeScrape(const std::vector<std::string>& urls) {
  Scrape s;
  s.urls = urls;
  for (const std::string& url : urls) {
    absl::StatusOr<std::string> body = HttpGet(url);
    if (!body.ok()) {
      if (s.error.empty()) s.error = std::string(body.status().message());
      continue;
    }
    AddExposition(*body, url, &s);
  }
  return s;
}

ServerSide Diff(const Scrape& before, const Scrape& after, double seconds) {
  ServerSide out;
  for (const auto& u : after.urls) out.add_urls(u);
  out.set_error(!before.error.empty() ? before.error : after.error);
  std::map<double, double> le;
  for (auto [bound, count] : after.handling_le) {
    auto it = before.handling_le.find(bound);
    le[bound] = count - (it == before.handling_le.end() ? 0 : it->second);
  }
  Latency* h = out.mutable_handling_us();
  h->set_p50(Quantile(le, 0.5) * 1e6);
  h->set_p90(Quantile(le, 0.9) * 1e6);
  h->set_p99(Quantile(le, 0.99) * 1e6);
  h->set_p99_9(Quantile(le, 0.999) * 1e6);
  h->set_p99_99(Quantile(le, 0.9999) * 1e6);
  double handled = 0;
  for (const auto& [code, n] : after.handled_by_code) {
    auto it = before.handled_by_code.find(code);
    const double d = n - (it == before.handled_by_code.end() ? 0 : it->second);
    if (d > 0) (*out.mutable_handled_by_code())[code] = d;
    handled += d;
  }
  out.set_handled(handled);
  for (const auto& [replica, n] : after.handled_by_replica) {
    auto it = before.handled_by_replica.find(replica);
    (*out.mutable_handled_by_replica())[replica] =
        n - (it == before.handled_by_replica.end() ? 0 : it->second);
  }
  out.set_rejections(after.rejections - before.rejections);
  out.set_compute_queue_depth(after.queue_depth);
  out.set_cpu_seconds(after.cpu_seconds - before.cpu_seconds);
  out.set_cpu_cores(seconds > 0 ? out.cpu_seconds() / seconds : 0);
  return out;
}

}  // namespace actserve::actload
