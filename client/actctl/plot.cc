// actctl plot NAME[,NAME...]: an SVG of functions (solid) and their derivatives (dashed), both
// computed by the server.
#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/values.h"
#include "client/chart/svg_chart.h"

ABSL_FLAG(std::string, out, "activations.svg", "The SVG file to write.");

namespace actserve::client {

int RunPlot(const std::vector<std::string>& args) {
  if (absl::GetFlag(FLAGS_range).empty()) absl::SetFlag(&FLAGS_range, "-5:5:401");
  auto xs = Inputs({});
  if (!xs.ok()) return Usage(std::string(xs.status().message()));
  auto options = Options();
  if (!options.ok()) return Usage(std::string(options.status().message()));
  auto client = ActivationClient::Connect(ServerOptions());
  const std::vector<std::string> names = absl::StrSplit(args[0], ',');
  const std::vector<int64_t> shape = {static_cast<int64_t>(xs->size())};
  const std::vector<double> ones(xs->size(), 1.0);
  Panel panel{.title = "f(x) solid, f'(x) dashed", .x_label = "x", .y_label = "f(x), f'(x)"};
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    auto y = client->Forward(name, shape, absl::MakeConstSpan(*xs), *options);
    if (!y.ok()) return Fail(y.status());
    if (y->values.size() != xs->size()) {
      return Usage(name + " changes the tensor's length; plot takes element-wise functions");
    }
    auto d = client->Backward(name, shape, absl::MakeConstSpan(*xs), shape,
                              absl::MakeConstSpan(ones), *options);
    if (!d.ok()) return Fail(d.status());
    const int color = static_cast<int>(i);
    panel.series.push_back({name, *xs, y->values, false, color});
    panel.series.push_back({name + "'", *xs, d->dx.values, true, color});
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  std::ofstream f(out);
  f << RenderSvg(absl::StrJoin(names, ", "), {panel});
  if (!f) return Fail(absl::InternalError("cannot write " + out));
  std::printf("wrote %s (%zu curves over [%s, %s])\n", out.c_str(), panel.series.size(),
              FormatNumber(xs->front()).c_str(), FormatNumber(xs->back()).c_str());
  return 0;
}

}  // namespace actserve::client
