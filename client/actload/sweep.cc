#include "client/actload/sweep.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace actserve::actload {

absl::StatusOr<Slo> ParseSlo(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '<');
  static const char* kNames[] = {"p50", "p90", "p99", "p99.9", "p99.99", "max"};
  absl::Duration d;
  if (parts.size() != 2 || !absl::ParseDuration(parts[1], &d) || d <= absl::ZeroDuration() ||
      std::find(std::begin(kNames), std::end(kNames), parts[0]) == std::end(kNames)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--slo '", text, "' is not PERCENTILE<DURATION, e.g. p99<10ms (percentiles: p50, p90, ",
        "p99, p99.9, p99.99, max)"));
  }
  return Slo{text, parts[0], absl::ToDoubleMicroseconds(d)};
}

absl::StatusOr<SweepPlan> ParseSweep(const std::string& text) {
  std::pair<std::string, std::string> ov = absl::StrSplit(text, absl::MaxSplits(':', 1));
  SweepPlan plan;
  plan.over = ov.first;
  if (plan.over != "concurrency" && plan.over != "rate") {
    return absl::InvalidArgumentError(
        absl::StrCat("--sweep '", text, "' must start with concurrency: or rate:"));
  }
  std::vector<std::string> f = absl::StrSplit(ov.second, ':');
  const auto bad = absl::InvalidArgumentError(
      absl::StrCat("--sweep '", text, "': give V,V,... or FROM:TO:+STEP with positive values"));
  if (f.size() == 1) {
    for (absl::string_view v : absl::StrSplit(f[0], ',', absl::SkipEmpty())) {
      double x;
      if (!absl::SimpleAtod(v, &x) || !(x > 0)) return bad;
      plan.values.push_back(x);
    }
  } else if (f.size() == 3) {
    double from, to, step;
    absl::string_view s = f[2];
    if (!absl::ConsumePrefix(&s, "+") || !absl::SimpleAtod(f[0], &from) ||
        !absl::SimpleAtod(f[1], &to) || !absl::SimpleAtod(s, &step) || !(from > 0) || !(step > 0) ||
        to < from || (to - from) / step > 1000) {
      return bad;
    }
    for (double v = from; v <= to * (1 + 1e-12); v += step) plan.values.push_back(v);
  }
  if (plan.values.empty()) return bad;
  if (plan.over == "concurrency") {
    for (double& v : plan.values) v = std::round(v);
  }
  return plan;
}

double SloValue(const Slo& slo, const Latency& l) {
  if (slo.percentile == "p50") return l.p50();
  if (slo.percentile == "p90") return l.p90();
  if (slo.percentile == "p99") return l.p99();
  if (slo.percentile == "p99.9") return l.p99_9();
  if (slo.percentile == "p99.99") return l.p99_99();
  return l.max();
}

void Summarize(const Slo& slo, Sweep* sweep) {
  sweep->set_slo(slo.text);
  sweep->set_slo_us(slo.limit_us);
  sweep->set_best_asked(0);
  sweep->set_best_rps(0);
  for (SweepStep& s : *sweep->mutable_steps()) {
    s.set_meets_slo(SloValue(slo, s.latency_us()) < slo.limit_us &&
                    s.errors() <= 0.5 * s.requests() && s.requests() > 0);
    if (s.meets_slo() && s.achieved_rps() > sweep->best_rps()) {
      sweep->set_best_rps(s.achieved_rps());
      sweep->set_best_asked(s.asked());
    }
  }
  const auto& steps = sweep->steps();
  for (int i = 0; i < steps.size(); ++i) {
    const bool last = i + 1 == steps.size();
    if (last || !steps[i + 1].meets_slo() ||
        steps[i + 1].achieved_rps() < 1.05 * steps[i].achieved_rps()) {
      sweep->set_knee_asked(steps[i].asked());
      sweep->set_knee_rps(steps[i].achieved_rps());
      break;
    }
  }
}

Sweep RunSweep(const SweepPlan& plan, const Slo& slo,
               const std::function<SweepStep(double value)>& run_step) {
  Sweep sweep;
  sweep.set_over(plan.over);
  for (double v : plan.values) {
    *sweep.add_steps() = run_step(v);
    Summarize(slo, &sweep);
    if (!sweep.steps(sweep.steps_size() - 1).meets_slo()) break;
  }
  Summarize(slo, &sweep);
  return sweep;
}

}  // namespace actserve::actload
