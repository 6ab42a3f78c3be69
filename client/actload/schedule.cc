#include "client/actload/schedule.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace actserve::actload {
namespace {

absl::StatusOr<double> ParseValue(absl::string_view text, absl::string_view what) {
  double v;
  if (!absl::SimpleAtod(text, &v) || !(v > 0) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule: ", what, " '", text, "' is not a positive number"));
  }
  return v;
}

absl::StatusOr<absl::Duration> ParseLength(absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule: '", text, "' is not a positive duration such as 10s"));
  }
  return d;
}

absl::StatusOr<std::vector<Phase>> ParseFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("schedule file ", path, " cannot be read"));
  std::vector<Phase> phases;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (l.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(l, ' ', absl::SkipWhitespace());
    if (f.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("schedule file ", path, ": '", l, "' is not 'DURATION VALUE[..VALUE]'"));
    }
    Phase p;
    auto length = ParseLength(f[0]);
    if (!length.ok()) return length.status();
    p.length = *length;
    std::vector<absl::string_view> v = absl::StrSplit(f[1], "..");
    auto from = ParseValue(v[0], "value");
    if (!from.ok()) return from.status();
    p.from = p.to = *from;
    if (v.size() == 2) {
      auto to = ParseValue(v[1], "value");
      if (!to.ok()) return to.status();
      p.to = *to;
    } else if (v.size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat("schedule file: bad value '", f[1], "'"));
    }
    phases.push_back(p);
  }
  if (phases.empty()) return absl::InvalidArgumentError("schedule file " + path + " is empty");
  return phases;
}

}  // namespace

Schedule Schedule::Constant(double value) {
  Schedule s;
  s.phases_.push_back({absl::InfiniteDuration(), value, value});
  return s;
}

absl::StatusOr<Schedule> Schedule::Parse(const std::string& text) {
  Schedule s;
  if (!text.empty() && text[0] == '@') {
    auto phases = ParseFile(text.substr(1));
    if (!phases.ok()) return phases.status();
    s.phases_ = *std::move(phases);
    return s;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() == 1) {
    auto v = ParseValue(parts[0], "value");
    if (!v.ok()) return v.status();
    return Constant(*v);
  }
  if (parts.size() == 2) {  // FROM:TO/LENGTH
    std::vector<absl::string_view> tl = absl::StrSplit(parts[1], '/');
    if (tl.size() != 2) {
      return absl::InvalidArgumentError("schedule: a ramp is FROM:TO/DURATION, e.g. 100:2000/60s");
    }
    auto from = ParseValue(parts[0], "start");
    auto to = ParseValue(tl[0], "end");
    auto length = ParseLength(tl[1]);
    if (!from.ok()) return from.status();
    if (!to.ok()) return to.status();
    if (!length.ok()) return length.status();
    s.phases_.push_back({*length, *from, *to});
    return s;
  }
  if (parts.size() == 3) {  // FROM:TO:+STEP/LENGTH
    std::vector<absl::string_view> sl = absl::StrSplit(parts[2], '/');
    if (sl.size() != 2 || !absl::ConsumePrefix(&sl[0], "+")) {
      return absl::InvalidArgumentError(
          "schedule: steps are FROM:TO:+STEP/DURATION, e.g. 100:2000:+100/10s");
    }
    auto from = ParseValue(parts[0], "start");
    auto to = ParseValue(parts[1], "end");
    auto step = ParseValue(sl[0], "step");
    auto length = ParseLength(sl[1]);
    if (!from.ok()) return from.status();
    if (!to.ok()) return to.status();
    if (!step.ok()) return step.status();
    if (!length.ok()) return length.status();
    if (*to < *from) return absl::InvalidArgumentError("schedule: steps must go up (FROM <= TO)");
    const int n = static_cast<int>(std::floor((*to - *from) / *step + 1e-9)) + 1;
    if (n > 10000) return absl::InvalidArgumentError("schedule: more than 10000 steps");
    for (int i = 0; i < n; ++i) {
      const double v = *from + i * *step;
      s.phases_.push_back({*length, v, v});
    }
    return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("schedule: '", text,
                                                 "' is not VALUE, FROM:TO/DURATION, ",
                                                 "FROM:TO:+STEP/DURATION or @FILE"));
}

double Schedule::ValueAt(absl::Duration elapsed) const {
  for (const Phase& p : phases_) {
    if (elapsed < p.length) {
      if (p.length == absl::InfiniteDuration()) return p.from;
      return p.from + (p.to - p.from) * absl::FDivDuration(elapsed, p.length);
    }
    elapsed -= p.length;
  }
  return phases_.back().to;
}

absl::Duration Schedule::TotalLength() const {
  absl::Duration total;
  for (const Phase& p : phases_) total += p.length;
  return total;
}

double Schedule::ArrivalsUntil(absl::Duration elapsed) const {
  double n = 0;
  for (const Phase& p : phases_) {
    if (elapsed <= absl::ZeroDuration()) break;
    if (p.length == absl::InfiniteDuration()) return n + p.from * absl::ToDoubleSeconds(elapsed);
    const absl::Duration d = std::min(elapsed, p.length);
    const double end = p.from + (p.to - p.from) * absl::FDivDuration(d, p.length);
    n += (p.from + end) / 2 * absl::ToDoubleSeconds(d);
    elapsed -= p.length;
  }
  if (elapsed > absl::ZeroDuration()) n += phases_.back().to * absl::ToDoubleSeconds(elapsed);
  return n;
}

}  // namespace actserve::actload
