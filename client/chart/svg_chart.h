// RenderSvg: line charts as a standalone SVG document (a title, then panels one under another),
// for actctl's activation plots and training curves. Every text is escaped, so any label or job
// name gives a well-formed file. Pure functions.
#ifndef ACTSERVE_CLIENT_CHART_SVG_CHART_H_
#define ACTSERVE_CLIENT_CHART_SVG_CHART_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace actserve::client {

struct Series {
  std::string label;
  std::vector<double> x, y;  // same length; non-finite points (and y <= 0 on a log axis) skipped
  bool dashed = false;
  int color = 0;  // index into a fixed palette of ten colours; beyond it, dashed
};

struct Panel {
  std::string title;
  std::string x_label, y_label;  // the axis titles
  std::vector<Series> series;    // only series with a point to draw appear in the legend
  // The y range; unset: the data's (with 0 on a linear axis), limited to [-clip, clip] and
  // widened to whole ticks.
  std::optional<double> ymin, ymax;
  double clip = 10;
  bool log_y = false;  // a log10 y axis (losses, gradient norms)
};

// `title` above the panels, each `panel_height` tall, with 1-2-5 ticks, gridlines, axis titles and
// a legend.
std::string RenderSvg(const std::string& title, const std::vector<Panel>& panels,
                      double width = 800, double panel_height = 500);

// `text` with the five XML special characters as entities, for SVG text and attribute values.
std::string EscapeXml(absl::string_view text);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_CHART_SVG_CHART_H_
