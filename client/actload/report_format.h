// Report formats: the human summary table, one-object JSON (protobuf's JSON printer, field
// names as in report.proto), CSV with one row per interval, the progress line, and the SVG
// report (rate and latency percentiles over time; for a sweep, the latency-throughput curve).
// Pure functions of a Report.
#ifndef ACTSERVE_CLIENT_ACTLOAD_REPORT_FORMAT_H_
#define ACTSERVE_CLIENT_ACTLOAD_REPORT_FORMAT_H_

#include <string>

#include "client/actload/report.pb.h"

namespace actserve::actload {

std::string FormatTable(const Report& report);
std::string ToJson(const Report& report);
// The CSV header line and the row of an interval (each ends with '\n').
std::string CsvHeader();
std::string CsvRow(const Interval& interval);
// "  12.0s  asked 1000  got 998.0 req/s  p99 1.23 ms  errors 0  in flight 3  backlog 0".
std::string ProgressLine(const Interval& interval);
// Series: "asked", "achieved" (rate panel), "p50", "p90", "p99", "p99.9", "max" (latency
// panel); with a sweep, a panel "latency vs throughput" with "p50", "p99" and "SLO".
std::string RenderReportSvg(const Report& report);

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_REPORT_FORMAT_H_
