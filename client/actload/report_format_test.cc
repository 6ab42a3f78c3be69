#include "client/actload/report_format.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/actload/histogram.h"
#include "client/actload/runner.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace actserve::actload {
namespace {

using ::testing::HasSubstr;

Report Sample() {
  Report r;
  r.set_mode("open");
  r.set_asked_rps(1000);
  r.set_achieved_rps(990);
  r.set_requests(9900);
  r.set_errors(3);
  (*r.mutable_errors_by_code())["RESOURCE_EXHAUSTED"] = 3;
  Histogram h;
  for (int i = 1; i <= 1000; ++i) h.Record(i * 1000);
  *r.mutable_latency_us() = LatencyOf(h);
  for (int t = 1; t <= 3; ++t) {
    Interval* iv = r.add_intervals();
    iv->set_t_s(t);
    iv->set_asked(1000);
    iv->set_achieved_rps(990);
    iv->mutable_latency_us()->set_p99(990.0 * t);
  }
  return r;
}

TEST(ActloadReportFormatTest, JsonHasTheDocumentedFieldNamesAsNumbers) {
  const std::string json = ToJson(Sample());
  for (const char* field :
       {"\"asked_rps\":1000", "\"achieved_rps\":990", "\"requests\":9900",
        "\"errors_by_code\":{\"RESOURCE_EXHAUSTED\":3}", "\"latency_us\":{", "\"p50\":", "\"p90\":",
        "\"p99\":", "\"p99_9\":", "\"p99_99\":", "\"max\":1000", "\"histogram\":["}) {
    EXPECT_THAT(json, HasSubstr(field));
  }
  Report back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.requests(), 9900);
}

TEST(ActloadReportFormatTest, CsvHasOneRowPerIntervalUnderItsHeader) {
  const Report report = Sample();
  std::string csv = CsvHeader();
  for (const Interval& iv : report.intervals()) csv += CsvRow(iv);
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  const size_t columns = std::vector<std::string>(absl::StrSplit(lines[0], ',')).size();
  for (const std::string& l : lines) {
    EXPECT_EQ(std::vector<std::string>(absl::StrSplit(l, ',')).size(), columns) << l;
  }
  EXPECT_TRUE(absl::StartsWith(lines[2], "2.000,1000,"));
}

TEST(ActloadReportFormatTest, TheTableNamesTheCorrectionAndTheErrors) {
  const std::string table = FormatTable(Sample());
  EXPECT_THAT(table, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(table, HasSubstr("intended send time"));
  EXPECT_THAT(table, HasSubstr("p99.99"));
}

TEST(ActloadReportFormatTest, TheSvgDrawsRateAndLatencySeriesAndTheSweepCurve) {
  Report r = Sample();
  std::string svg = RenderReportSvg(r);
  for (const char* s : {">asked<", ">achieved<", ">p50<", ">p99<", ">p99.9<", ">max<"}) {
    EXPECT_THAT(svg, HasSubstr(s));
  }
  EXPECT_THAT(svg, ::testing::Not(HasSubstr("latency (ms) vs throughput")));
  SweepStep* st = r.mutable_sweep()->add_steps();
  st->set_achieved_rps(100);
  r.mutable_sweep()->set_slo_us(5000);
  svg = RenderReportSvg(r);
  EXPECT_THAT(svg, HasSubstr("latency (ms) vs throughput"));
  EXPECT_THAT(svg, HasSubstr(">SLO<"));
}

}  // namespace
}  // namespace actserve::actload
