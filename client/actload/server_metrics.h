// ServerMetrics: the server's side of a run, from its Prometheus /metrics endpoint. A Scrape is
// taken before and after (and in a sweep, around each step); Diff turns two into a ServerSide:
// handling-time percentiles from grpc_server_handling_seconds (summed over methods, interpolated
// within buckets as Prometheus' histogram_quantile does), calls handled by code and by replica,
// compute rejections, the compute queue depth at the end and the server's CPU time.
#ifndef ACTSERVE_CLIENT_ACTLOAD_SERVER_METRICS_H_
#define ACTSERVE_CLIENT_ACTLOAD_SERVER_METRICS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/actload/report.pb.h"

namespace actserve::actload {

// One scrape of each URL, reduced to what the report uses.
struct Scrape {
  std::vector<std::string> urls;
  std::string error;                     // the first failure, if any
  std::map<double, double> handling_le;  // le (seconds) -> cumulative count, all methods
  std::map<std::string, double> handled_by_code;
  std::map<std::string, double> handled_by_replica;
  double rejections = 0;
  double queue_depth = 0;
  double cpu_seconds = 0;
};

// GET of an http:// URL; the body, or UNAVAILABLE saying why (bounded by `timeout_s`).
absl::StatusOr<std::string> HttpGet(const std::string& url, double timeout_s = 3);

// Parses a Prometheus text exposition into `scrape` (summing over every sample of a family).
void AddExposition(const std::string& text, const std::string& replica, Scrape* scrape);

// Scrapes every URL (failures are noted in Scrape::error).
Scrape TakeScrape(const std::vector<std::string>& urls);

// What happened between two scrapes, `seconds` apart.
ServerSide Diff(const Scrape& before, const Scrape& after, double seconds);

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_SERVER_METRICS_H_
