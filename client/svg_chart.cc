#include "client/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace actserve::client {
namespace {

// Ten distinct colours (matplotlib's tab10); series beyond them repeat the colours dashed.
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                   "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
constexpr int kNumColors = 10;

std::string Line(double x1, double y1, double x2, double y2, const char* attrs) {
  return absl::StrFormat("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" %s/>\n", x1, y1, x2,
                         y2, attrs);
}

std::string RenderPanel(const Panel& panel, double W, double H, double top) {
  const double L = 70, R = 170, T = top + (panel.title.empty() ? 20 : 34), B = top + H - 40;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0;
  double ymin = 0, ymax = 0;
  for (const Series& s : panel.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  ymin = panel.ymin.value_or(std::max(ymin, -panel.clip));
  ymax = panel.ymax.value_or(std::min(ymax, panel.clip));
  if (ymax - ymin < 1e-12) ymax = ymin + 1;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return T + (ymax - y) / (ymax - ymin) * (B - T); };

  std::string svg;
  if (!panel.title.empty()) {
    absl::StrAppend(&svg,
                    absl::StrFormat("<text x=\"%g\" y=\"%g\" font-weight=\"bold\">%s</text>\n", L,
                                    top + 20, panel.title));
  }
  absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
                                        "fill=\"none\" stroke=\"#888\"/>\n",
                                        L, T, W - L - R, B - T));
  if (ymin < 0 && ymax > 0) absl::StrAppend(&svg, Line(L, py(0), W - R, py(0), "stroke=\"#ccc\""));
  if (x0 < 0 && x1 > 0) absl::StrAppend(&svg, Line(px(0), T, px(0), B, "stroke=\"#ccc\""));
  absl::StrAppend(
      &svg, absl::StrFormat(
                "<text x=\"%g\" y=\"%g\">%.4g</text><text x=\"%g\" y=\"%g\" "
                "text-anchor=\"end\">%.4g</text>\n"
                "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.4g</text><text x=\"%g\" y=\"%g\" "
                "text-anchor=\"end\">%.4g</text>\n",
                L, B + 16, x0, W - R, B + 16, x1, L - 6, T + 10, ymax, L - 6, B, ymin));
  for (size_t c = 0; c < panel.series.size(); ++c) {
    const Series& s = panel.series[c];
    const char* color = kColors[s.color % kNumColors];
    const char* dash = s.dashed || s.color >= kNumColors ? " stroke-dasharray=\"6,4\"" : "";
    std::string points;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      absl::StrAppend(
          &points, absl::StrFormat("%.2f,%.2f ", px(s.x[i]), py(std::clamp(s.y[i], ymin, ymax))));
    }
    absl::StrAppend(&svg, absl::StrFormat("<polyline fill=\"none\" stroke=\"%s\" "
                                          "stroke-width=\"2\"%s points=\"%s\"/>\n",
                                          color, dash, points));
    const double ly = T + 16 + 18 * c;
    absl::StrAppend(
        &svg,
        Line(W - R + 12, ly, W - R + 40, ly,
             absl::StrFormat("stroke=\"%s\" stroke-width=\"2\"%s", color, dash).c_str()),
        absl::StrFormat("<text x=\"%g\" y=\"%g\">%s</text>\n", W - R + 46, ly + 4, s.label));
  }
  return svg;
}

}  // namespace

std::string RenderSvg(const std::vector<Panel>& panels, double width, double panel_height) {
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, panel_height * std::max<size_t>(1, panels.size()));
  for (size_t p = 0; p < panels.size(); ++p) {
    absl::StrAppend(&svg, RenderPanel(panels[p], width, panel_height, p * panel_height));
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace actserve::client
