#include "client/actload/report_format.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chart/svg_chart.h"
#include "google/protobuf/util/json_util.h"

namespace actserve::actload {
namespace {

std::string Ms(double us) { return absl::StrFormat("%.3f", us / 1e3); }

// The server's histogram has no maximum: "-" there.
void LatencyRow(std::string* out, const char* name, const Latency& l, bool has_max = true) {
  absl::StrAppendFormat(out, "  %-12s %9s %9s %9s %9s %9s %9s\n", name, Ms(l.p50()), Ms(l.p90()),
                        Ms(l.p99()), Ms(l.p99_9()), Ms(l.p99_99()), has_max ? Ms(l.max()) : "-");
}

}  // namespace

std::string FormatTable(const Report& r) {
  std::string out;
  absl::StrAppendFormat(&out, "actload: %s loop, %s on %s (%g channels)\n", r.mode(), r.workload(),
                        r.target(), r.channels());
  if (r.mode() == "open") {
    absl::StrAppendFormat(&out, "  asked      %10.1f req/s (%s arrivals, schedule %s)\n",
                          r.asked_rps(), r.arrivals(), r.schedule());
  } else {
    absl::StrAppendFormat(&out, "  asked      %10.1f calls in flight (schedule %s)\n",
                          r.asked_concurrency(), r.schedule());
  }
  absl::StrAppendFormat(&out, "  achieved   %10.1f req/s over %.2f s (%s)%s\n", r.achieved_rps(),
                        r.duration_s(), r.stop_reason(),
                        r.kept_up() ? "" : "  -- DID NOT KEEP UP with the asked rate");
  if (r.mode() == "open" && r.max_backlog() > 0) {
    absl::StrAppendFormat(&out, "  backlog    %10.0f arrivals waited for a free slot at worst\n",
                          r.max_backlog());
  }
  absl::StrAppendFormat(&out, "  requests   %10.0f  ok %.0f  errors %.0f", r.requests(), r.ok(),
                        r.errors());
  if (r.request_mb_per_s() > 0)
    absl::StrAppendFormat(&out, "  (%.1f MB/s sent)", r.request_mb_per_s());
  if (r.train_steps() > 0) absl::StrAppendFormat(&out, "  training steps %.0f", r.train_steps());
  out += "\n";
  for (const auto& [code, count] :
       std::map<std::string, double>(r.errors_by_code().begin(), r.errors_by_code().end())) {
    absl::StrAppendFormat(&out, "  %-20s %8.0f", code, count);
    for (const ErrorSample& e : r.first_errors()) {
      if (e.code() == code && e.messages_size() > 0) {
        absl::StrAppend(&out, "  e.g. \"", e.messages(0), "\"");
        break;
      }
    }
    out += "\n";
  }
  if (r.backoffs() > 0) absl::StrAppendFormat(&out, "  back-offs  %10.0f\n", r.backoffs());
  absl::StrAppendFormat(&out, "\n  latency ms   %9s %9s %9s %9s %9s %9s\n", "p50", "p90", "p99",
                        "p99.9", "p99.99", "max");
  LatencyRow(&out, r.mode() == "open" ? "client*" : "client", r.latency_us());
  if (r.has_server() && r.server().urls_size() > 0) {
    const ServerSide& s = r.server();
    if (s.error().empty()) {
      LatencyRow(&out, "server", s.handling_us(), /*has_max=*/false);
      absl::StrAppendFormat(&out,
                            "  server: %.0f calls handled, %.0f rejections, queue depth %.0f, "
                            "CPU %.2f cores\n",
                            s.handled(), s.rejections(), s.compute_queue_depth(), s.cpu_cores());
      if (s.handled_by_replica_size() > 1) {
        for (const auto& [url, n] : s.handled_by_replica()) {
          absl::StrAppendFormat(&out, "    %s: %.0f calls\n", url, n);
        }
      }
    } else {
      absl::StrAppend(&out, "  server metrics: ", s.error(), "\n");
    }
  }
  if (r.mode() == "open") {
    out += "  * timed from each call's intended send time (coordinated omission corrected)\n";
  }
  if (r.has_sweep() && r.sweep().steps_size() > 0) {
    const Sweep& s = r.sweep();
    absl::StrAppendFormat(&out, "\n  sweep over %s, SLO %s\n  %10s %10s %9s %9s %9s %7s  %s\n",
                          s.over(), s.slo(), s.over() == "rate" ? "asked/s" : "in flight", "req/s",
                          "p50 ms", "p99 ms", "max ms", "errors", "SLO");
    for (const SweepStep& st : s.steps()) {
      absl::StrAppendFormat(&out, "  %10.0f %10.1f %9s %9s %9s %7.0f  %s\n", st.asked(),
                            st.achieved_rps(), Ms(st.latency_us().p50()), Ms(st.latency_us().p99()),
                            Ms(st.latency_us().max()), st.errors(),
                            st.meets_slo() ? "ok" : "MISSED");
    }
    absl::StrAppendFormat(&out, "  best within SLO: %.1f req/s at %g; knee: %.1f req/s at %g\n",
                          s.best_rps(), s.best_asked(), s.knee_rps(), s.knee_asked());
  }
  return out;
}

std::string ToJson(const Report& report) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(report, &json, options);
  return json + "\n";
}

std::string CsvHeader() {
  return "t_s,asked,requests,errors,achieved_rps,p50_us,p90_us,p99_us,p99_9_us,max_us,in_flight,"
         "backlog\n";
}

std::string CsvRow(const Interval& i) {
  const Latency& l = i.latency_us();
  return absl::StrFormat("%.3f,%g,%.0f,%.0f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.0f,%.0f\n", i.t_s(),
                         i.asked(), i.requests(), i.errors(), i.achieved_rps(), l.p50(), l.p90(),
                         l.p99(), l.p99_9(), l.max(), i.in_flight(), i.backlog());
}

std::string ProgressLine(const Interval& i) {
  return absl::StrFormat(
      "%7.1fs  asked %.4g  got %.1f req/s  p99 %s ms  max %s ms  errors %.0f  in flight %.0f  "
      "backlog %.0f",
      i.t_s(), i.asked(), i.achieved_rps(), Ms(i.latency_us().p99()), Ms(i.latency_us().max()),
      i.errors(), i.in_flight(), i.backlog());
}

std::string RenderReportSvg(const Report& r) {
  using client::Panel;
  using client::Series;
  std::vector<Panel> panels;
  Panel rate{r.mode() == "open" ? "rate (req/s) over time (s): asked and achieved"
                                : "rate (req/s) over time (s); asked = calls in flight"};
  Series asked{"asked"}, achieved{"achieved"};
  asked.dashed = true;
  achieved.color = 1;
  Panel latency{"latency (ms) over time (s)"};
  Series p50{"p50"}, p90{"p90"}, p99{"p99"}, p999{"p99.9"}, mx{"max"};
  p90.color = 1, p99.color = 2, p999.color = 3, mx.color = 4;
  mx.dashed = true;
  double top = 0;
  for (const Interval& i : r.intervals()) {
    asked.x.push_back(i.t_s()), asked.y.push_back(i.asked());
    achieved.x.push_back(i.t_s()), achieved.y.push_back(i.achieved_rps());
    const Latency& l = i.latency_us();
    for (auto [s, v] : {std::pair{&p50, l.p50()},
                        {&p90, l.p90()},
                        {&p99, l.p99()},
                        {&p999, l.p99_9()},
                        {&mx, l.max()}}) {
      s->x.push_back(i.t_s());
      s->y.push_back(v / 1e3);
      top = std::max(top, v / 1e3);
    }
  }
  rate.series = {asked, achieved};
  rate.ymin = 0;
  double rtop = 1;
  for (const Interval& i : r.intervals()) rtop = std::max({rtop, i.asked(), i.achieved_rps()});
  rate.ymax = rtop * 1.1;
  latency.series = {p50, p90, p99, p999, mx};
  latency.ymin = 0;
  latency.ymax = std::max(top * 1.1, 0.001);
  panels.push_back(rate);
  panels.push_back(latency);
  if (r.has_sweep() && r.sweep().steps_size() > 0) {
    Panel curve{absl::StrCat("latency (ms) vs throughput (req/s), sweep over ", r.sweep().over(),
                             ", SLO ", r.sweep().slo())};
    Series s50{"p50"}, s99{"p99"}, slo{"SLO"};
    s99.color = 2;
    slo.color = 4;
    slo.dashed = true;
    double ltop = 0, xmax = 0;
    for (const SweepStep& st : r.sweep().steps()) {
      s50.x.push_back(st.achieved_rps()), s50.y.push_back(st.latency_us().p50() / 1e3);
      s99.x.push_back(st.achieved_rps()), s99.y.push_back(st.latency_us().p99() / 1e3);
      ltop = std::max(ltop, st.latency_us().p99() / 1e3);
      xmax = std::max(xmax, st.achieved_rps());
    }
    slo.x = {0, xmax};
    slo.y = {r.sweep().slo_us() / 1e3, r.sweep().slo_us() / 1e3};
    ltop = std::max(ltop, r.sweep().slo_us() / 1e3);
    curve.series = {s50, s99, slo};
    curve.ymin = 0;
    curve.ymax = std::max(ltop * 1.1, 0.001);
    panels.push_back(curve);
  }
  return client::RenderSvg("actload report", panels);
}

}  // namespace actserve::actload
