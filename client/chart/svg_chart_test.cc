#include "client/chart/svg_chart.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Runs Python's XML parser on `svg`; returns its exit status (0: well-formed), or -1 when there
// is no python3.
int ParseWithPython(const std::string& svg) {
  if (std::system("python3 -c '' 2>/dev/null") != 0) return -1;
  const std::string path = ::testing::TempDir() + "/svg_chart_test.svg";
  std::ofstream(path) << svg;
  return std::system(
      absl::StrCat("python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' ",
                   path, " 2>&1")
          .c_str());
}

TEST(EscapeXmlTest, EscapesTheFiveSpecialCharactersAndNothingElse) {
  EXPECT_EQ(EscapeXml("a<b & c>\"d'é"), "a&lt;b &amp; c&gt;&quot;d&apos;é");
  EXPECT_EQ(EscapeXml("plain text 1.5"), "plain text 1.5");
}

TEST(SvgChartTest, TextWithMarkupCharactersGivesAWellFormedDocument) {
  Panel panel{.title = "job <1> & \"friends\"", .x_label = "x < 0", .y_label = "y & z"};
  panel.series.push_back({"a</text><script>", {0, 1, 2}, {1, 2, 3}});
  const std::string svg = RenderSvg("title with </svg> & more", {panel});
  EXPECT_THAT(svg, Not(HasSubstr("<script>")));
  EXPECT_THAT(svg, HasSubstr("job &lt;1&gt; &amp; &quot;friends&quot;"));
  const int rc = ParseWithPython(svg);
  if (rc == -1) GTEST_SKIP() << "no python3 to parse the SVG with";
  EXPECT_EQ(rc, 0) << svg;
}

TEST(SvgChartTest, OnlySeriesWithPointsAppearInTheLegend) {
  Panel panel{.title = "loss"};
  panel.series.push_back({"train", {1, 2}, {0.5, 0.25}});
  panel.series.push_back({"validation", {}, {}, true, 1});
  const std::string svg = RenderSvg("t", {panel});
  EXPECT_THAT(svg, HasSubstr(">train</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("validation")));
}

TEST(SvgChartTest, ALogAxisTicksAtPowersOfTenAndSkipsNonPositiveValues) {
  Panel panel{.title = "loss", .log_y = true};
  panel.series.push_back({"train", {1, 2, 3, 4}, {1.5, 0.02, 0, -1}});
  const std::string svg = RenderSvg("t", {panel});
  EXPECT_THAT(svg, HasSubstr(">0.01</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.1</text>"));
  EXPECT_THAT(svg, HasSubstr(">10</text>"));
  // Two points drawn: (1, 1.5) and (2, 0.02).
  const size_t points = svg.find("points=\"");
  ASSERT_NE(points, std::string::npos);
  const std::string list = svg.substr(points + 8, svg.find('"', points + 8) - points - 8);
  EXPECT_EQ(std::count(list.begin(), list.end(), ','), 2) << list;
}

TEST(SvgChartTest, LinearAxesHaveGridlinesAtNiceTicksAndAxisTitles) {
  Panel panel{.title = "f", .x_label = "x", .y_label = "f(x)"};
  panel.series.push_back({"relu", {-5, 0, 5}, {0, 0, 5}});
  const std::string svg = RenderSvg("activations", {panel});
  for (const char* tick : {">-4</text>", ">-2</text>", ">0</text>", ">2</text>", ">4</text>"}) {
    EXPECT_THAT(svg, HasSubstr(tick));
  }
  EXPECT_THAT(svg, HasSubstr("stroke=\"#e6e6e6\""));
  EXPECT_THAT(svg, HasSubstr(">f(x)</text>"));
  EXPECT_THAT(svg, HasSubstr("<title>activations</title>"));
}

}  // namespace
}  // namespace actserve::client
