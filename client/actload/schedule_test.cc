#include "client/actload/schedule.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace actserve::actload {
namespace {

TEST(ActloadScheduleTest, AConstantHasNoEnd) {
  auto s = Schedule::Parse("500");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->constant());
  EXPECT_EQ(s->ValueAt(absl::Hours(5)), 500);
  EXPECT_EQ(s->TotalLength(), absl::InfiniteDuration());
  EXPECT_DOUBLE_EQ(s->ArrivalsUntil(absl::Seconds(2)), 1000);
}

TEST(ActloadScheduleTest, StepsIncludeTheLastValue) {
  auto s = Schedule::Parse("100:2000:+100/10s");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->phases().size(), 20u);
  EXPECT_EQ(s->TotalLength(), absl::Seconds(200));
  EXPECT_EQ(s->ValueAt(absl::Seconds(0)), 100);
  EXPECT_EQ(s->ValueAt(absl::Seconds(9.9)), 100);
  EXPECT_EQ(s->ValueAt(absl::Seconds(10)), 200);
  EXPECT_EQ(s->ValueAt(absl::Seconds(199)), 2000);
  EXPECT_EQ(s->ValueAt(absl::Seconds(1000)), 2000);
  EXPECT_DOUBLE_EQ(s->ArrivalsUntil(absl::Seconds(20)), 1000 + 2000);
}

TEST(ActloadScheduleTest, ARampIsLinear) {
  auto s = Schedule::Parse("100:2000/60s");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->ValueAt(absl::Seconds(30)), 1050);
  EXPECT_DOUBLE_EQ(s->ArrivalsUntil(absl::Seconds(60)), (100 + 2000) / 2.0 * 60);
}

TEST(ActloadScheduleTest, AFileListsPhases) {
  const std::string path = ::testing::TempDir() + "/schedule.txt";
  std::ofstream(path) << "# warm\n10s 100\n30s 100..1000  # ramp\n\n20s 1000\n";
  auto s = Schedule::Parse("@" + path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->TotalLength(), absl::Seconds(60));
  EXPECT_DOUBLE_EQ(s->ValueAt(absl::Seconds(25)), 550);
  EXPECT_DOUBLE_EQ(s->ValueAt(absl::Seconds(50)), 1000);
  std::remove(path.c_str());
}

TEST(ActloadScheduleTest, BadSchedulesSayWhy) {
  for (const char* bad : {"", "0", "-5", "abc", "100:50:+10/1s", "100:200:10/1s", "100:200/x",
                          "1:2:3:4", "100:200:+0/1s", "@/nonexistent/file"}) {
    auto s = Schedule::Parse(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
  EXPECT_NE(Schedule::Parse("100:200/x").status().message().find("duration"), std::string::npos);
}

}  // namespace
}  // namespace actserve::actload
