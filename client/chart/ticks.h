// Axis scales with "nice" ticks, for charts a person reads: linear axes step by 1, 2 or 5 times a
// power of ten; log axes tick at powers of ten (and at 2 and 5 times them over a short range).
// Pure functions.
#ifndef ACTSERVE_CLIENT_CHART_TICKS_H_
#define ACTSERVE_CLIENT_CHART_TICKS_H_

#include <string>
#include <vector>

namespace actserve::client {

struct Axis {
  double lo = 0, hi = 1;      // the axis range (widened to whole steps when asked)
  double step = 0;            // linear axes: the distance between ticks; log axes: 0
  std::vector<double> ticks;  // ascending, all within [lo, hi]
};

// About `target` ticks over [lo, hi] (lo < hi, both finite; an empty or reversed range is made
// one unit wide). With `widen` the range grows outwards to whole steps, so that it starts and
// ends on a tick. Ticks are exact multiples of the step; a range that spans 0 has a tick at 0.
Axis LinearAxis(double lo, double hi, int target = 5, bool widen = false);

// A log10 axis over [lo, hi] (0 < lo < hi), widened to whole powers of ten; ticks at powers of
// ten (every k-th when there are more than 8 decades), and at 2 and 5 times them when the range
// spans 2 decades or less.
Axis LogAxis(double lo, double hi);

// A tick's label: the shortest "%g"-style text that tells neighbouring ticks apart.
std::string TickLabel(double value);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_CHART_TICKS_H_
