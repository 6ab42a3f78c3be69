#include "client/chart/ticks.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace actserve::client {
namespace {

// The 1-2-5 step nearest above `raw` (> 0): 1, 2, 5, 10, 20, ... times a power of ten.
double NiceStep(double raw) {
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double mantissa = raw / magnitude;  // in [1, 10)
  const double nice = mantissa < 1.5 ? 1 : mantissa < 3 ? 2 : mantissa < 7 ? 5 : 10;
  return nice * magnitude;
}

}  // namespace

Axis LinearAxis(double lo, double hi, int target, bool widen) {
  if (!(hi > lo)) hi = lo + 1;
  Axis axis;
  axis.step = NiceStep((hi - lo) / std::max(1, target));
  // Ticks are integer multiples of the step, so that 0 is exact and errors do not accumulate.
  const double eps = 1e-9;
  double first = std::ceil(lo / axis.step - eps), last = std::floor(hi / axis.step + eps);
  if (widen) {
    first = std::floor(lo / axis.step + eps), last = std::ceil(hi / axis.step - eps);
    lo = first * axis.step, hi = last * axis.step;
  }
  axis.lo = lo, axis.hi = hi;
  for (double i = first; i <= last; ++i) {
    const double tick = i * axis.step;
    axis.ticks.push_back(i == 0 ? 0.0 : std::clamp(tick, lo, hi));
  }
  return axis;
}

Axis LogAxis(double lo, double hi) {
  if (!(lo > 0)) lo = 1e-300;
  if (!(hi > lo)) hi = lo * 10;
  int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (last <= first) last = first + 1;
  Axis axis;
  axis.lo = std::pow(10.0, first), axis.hi = std::pow(10.0, last);
  const int decades = last - first;
  const int every = decades > 8 ? (decades + 7) / 8 : 1;
  for (int e = first; e <= last; ++e) {
    const double power = std::pow(10.0, e);
    if ((e - first) % every == 0) axis.ticks.push_back(power);
    if (decades <= 2 && e < last) {
      axis.ticks.push_back(2 * power);
      axis.ticks.push_back(5 * power);
    }
  }
  return axis;
}

std::string TickLabel(double value) {
  if (value == 0) return "0";
  return absl::StrFormat("%.6g", value);
}

}  // namespace actserve::client
