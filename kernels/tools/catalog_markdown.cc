// Prints the catalog as a Markdown table, straight from the definitions (kernels/README.md embeds
// it; the docs_catalog_table test keeps the two equal).
//
//   build/kernels/catalog_markdown
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/catalog/catalog.h"

namespace {

const char* SaturationName(actserve::Saturation s) {
  using actserve::Saturation;
  switch (s) {
    case Saturation::kNone:
      return "none";
    case Saturation::kOneSidedSoft:
      return "one-sided soft";
    case Saturation::kOneSidedHard:
      return "one-sided hard";
    case Saturation::kTwoSidedSoft:
      return "two-sided soft";
    case Saturation::kTwoSidedHard:
      return "two-sided hard";
  }
  return "?";
}

const char* CostName(actserve::Cost c) {
  switch (c) {
    case actserve::Cost::kSelect:
      return "select";
    case actserve::Cost::kArithmetic:
      return "arithmetic";
    case actserve::Cost::kTranscendental:
      return "transcendental";
  }
  return "?";
}

std::string Params(const actserve::ActivationInfo& info) {
  std::string out;
  for (int k = 0; k < info.num_params(); ++k) {
    const actserve::ParamSpec& p = info.params[k];
    absl::StrAppend(&out, k ? ", " : "", p.name, "=", p.default_value,
                    p.learnable ? " (learnable)" : "");
  }
  return out;
}

std::string Flags(const actserve::Properties& p) {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (on) absl::StrAppend(&out, out.empty() ? "" : ", ", name);
  };
  add(p.monotonic, "monotonic");
  add(p.smooth, "smooth");
  add(p.zero_centered, "zero-centred");
  add(p.sparse, "sparse");
  add(p.identity_near_zero, "identity near 0");
  add(!p.gradient_flows, "no gradient");
  return out;
}

// Markdown table cells cannot hold a bare '|'.
std::string Cell(std::string s) {
  for (size_t i = s.find('|'); i != std::string::npos; i = s.find('|', i + 2))
    s.replace(i, 1, "\\|");
  return s;
}

}  // namespace

int main() {
  std::printf("| name | f(x) | parameters | range | saturation | cost | properties |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const actserve::ActivationInfo& info : actserve::AllActivations()) {
    std::string name = info.name;
    for (const char* alias : info.aliases) {
      if (alias != nullptr) absl::StrAppend(&name, " (", alias, ")");
    }
    std::printf("| %s | `%s` | %s | %s | %s | %s | %s |\n", name.c_str(),
                Cell(info.formula).c_str(), Params(info).c_str(), Cell(info.output_range).c_str(),
                SaturationName(info.properties.saturation), CostName(info.properties.cost),
                Flags(info.properties).c_str());
  }
  return 0;
}
