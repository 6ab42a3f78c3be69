// RenderSvg: line charts as a standalone SVG document, one panel under another; for actctl's
// activation plots and training curves. Pure functions.
#ifndef ACTSERVE_CLIENT_SVG_CHART_H_
#define ACTSERVE_CLIENT_SVG_CHART_H_

#include <optional>
#include <string>
#include <vector>

namespace actserve::client {

struct Series {
  std::string label;
  std::vector<double> x, y;  // same length; non-finite points are skipped
  bool dashed = false;
  int color = 0;  // index into a fixed palette
};

struct Panel {
  std::string title;
  std::vector<Series> series;
  // The y range; unset: the data's, widened to include 0 and limited to [-clip, clip].
  std::optional<double> ymin, ymax;
  double clip = 10;
};

// The panels stacked vertically, each `panel_height` tall, with its title, frame, the x and y
// ranges, axes through 0 where visible, and a legend.
std::string RenderSvg(const std::vector<Panel>& panels, double width = 800,
                      double panel_height = 500);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_SVG_CHART_H_
