#include "client/chart/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chart/ticks.h"

namespace actserve::client {
namespace {

// Ten distinct colours (matplotlib's tab10); series beyond them repeat the colours dashed.
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                   "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
constexpr int kNumColors = 10;
constexpr double kTitleHeight = 36;

std::string Line(double x1, double y1, double x2, double y2, absl::string_view attrs) {
  return absl::StrFormat("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" %s/>\n", x1, y1, x2,
                         y2, attrs);
}

// `text` (escaped here) at (x, y) with extra attributes.
std::string Text(double x, double y, absl::string_view text, absl::string_view attrs = "") {
  return absl::StrFormat("<text x=\"%.2f\" y=\"%.2f\"%s%s>%s</text>\n", x, y,
                         attrs.empty() ? "" : " ", attrs, EscapeXml(text));
}

bool Drawable(const Panel& panel, double x, double y) {
  return std::isfinite(x) && std::isfinite(y) && (!panel.log_y || y > 0);
}

std::string RenderPanel(const Panel& panel, double W, double H, double top) {
  const double L = 78, R = 180, T = top + (panel.title.empty() ? 16 : 34), B = top + H - 46;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0;
  double y0 = panel.log_y ? x0 : 0, y1 = panel.log_y ? -x0 : 0;
  for (const Series& s : panel.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!Drawable(panel, s.x[i], s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = panel.log_y ? 0.1 : 0, y1 = 1;
  const Axis xaxis = LinearAxis(x0, x1, 8);
  const Axis yaxis = panel.log_y ? LogAxis(panel.ymin.value_or(y0), panel.ymax.value_or(y1))
                                 : LinearAxis(panel.ymin.value_or(std::max(y0, -panel.clip)),
                                              panel.ymax.value_or(std::min(y1, panel.clip)), 6,
                                              /*widen=*/!panel.ymin && !panel.ymax);
  auto px = [&](double x) { return L + (x - xaxis.lo) / (xaxis.hi - xaxis.lo) * (W - L - R); };
  auto scale = [&](double y) { return panel.log_y ? std::log10(y) : y; };
  auto py = [&](double y) {
    const double lo = scale(yaxis.lo), hi = scale(yaxis.hi);
    return T + (hi - std::clamp(scale(y), lo, hi)) / (hi - lo) * (B - T);
  };

  std::string svg;
  if (!panel.title.empty()) {
    absl::StrAppend(&svg, Text(L, top + 22, panel.title, "font-weight=\"bold\""));
  }
  // Gridlines and tick labels, then the zero lines (linear axes), the frame and axis titles.
  for (double t : xaxis.ticks) {
    absl::StrAppend(&svg, Line(px(t), T, px(t), B, "stroke=\"#e6e6e6\""),
                    Text(px(t), B + 16, TickLabel(t), "text-anchor=\"middle\""));
  }
  for (double t : yaxis.ticks) {
    absl::StrAppend(&svg, Line(L, py(t), W - R, py(t), "stroke=\"#e6e6e6\""),
                    Text(L - 6, py(t) + 4, TickLabel(t), "text-anchor=\"end\""));
  }
  if (!panel.log_y && yaxis.lo < 0 && yaxis.hi > 0) {
    absl::StrAppend(&svg, Line(L, py(0), W - R, py(0), "stroke=\"#999\""));
  }
  if (xaxis.lo < 0 && xaxis.hi > 0)
    absl::StrAppend(&svg, Line(px(0), T, px(0), B, "stroke=\"#999\""));
  absl::StrAppend(&svg,
                  absl::StrFormat("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                                  "fill=\"none\" stroke=\"#666\"/>\n",
                                  L, T, W - L - R, B - T));
  if (!panel.x_label.empty()) {
    absl::StrAppend(&svg, Text((L + W - R) / 2, B + 36, panel.x_label, "text-anchor=\"middle\""));
  }
  if (!panel.y_label.empty()) {
    const double cx = 18, cy = (T + B) / 2;
    absl::StrAppend(&svg, Text(cx, cy, panel.y_label,
                               absl::StrFormat("text-anchor=\"middle\" transform=\"rotate(-90 "
                                               "%.2f %.2f)\"",
                                               cx, cy)));
  }
  int legend_row = 0;
  for (const Series& s : panel.series) {
    const char* color = kColors[s.color % kNumColors];
    const char* dash = s.dashed || s.color >= kNumColors ? " stroke-dasharray=\"6,4\"" : "";
    std::string points;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!Drawable(panel, s.x[i], s.y[i])) continue;
      absl::StrAppend(&points, absl::StrFormat("%.2f,%.2f ", px(s.x[i]), py(s.y[i])));
    }
    if (points.empty()) continue;  // nothing to draw: no line, no legend entry
    absl::StrAppend(&svg, absl::StrFormat("<polyline fill=\"none\" stroke=\"%s\" "
                                          "stroke-width=\"2\"%s points=\"%s\"/>\n",
                                          color, dash, points));
    const double ly = T + 16 + 18 * legend_row++;
    absl::StrAppend(&svg,
                    Line(W - R + 12, ly, W - R + 40, ly,
                         absl::StrFormat("stroke=\"%s\" stroke-width=\"2\"%s", color, dash)),
                    Text(W - R + 46, ly + 4, s.label));
  }
  return svg;
}

}  // namespace

std::string EscapeXml(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderSvg(const std::string& title, const std::vector<Panel>& panels, double width,
                      double panel_height) {
  const double height = kTitleHeight + panel_height * std::max<size_t>(1, panels.size());
  std::string svg = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<title>%s</title>\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, height, width, height, EscapeXml(title));
  absl::StrAppend(&svg, Text(width / 2, 24, title,
                             "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\""));
  for (size_t p = 0; p < panels.size(); ++p) {
    absl::StrAppend(&svg,
                    RenderPanel(panels[p], width, panel_height, kTitleHeight + p * panel_height));
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace actserve::client
