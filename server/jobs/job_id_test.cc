#include "server/jobs/job_id.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;

TEST(JobIdTest, NewIdsAreCanonicalAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewJobId();
    ASSERT_TRUE(IsJobId(id)) << id;
    ASSERT_FALSE(IsSweepId(id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
  }
  std::string sweep = NewSweepId();
  EXPECT_TRUE(IsSweepId(sweep)) << sweep;
  EXPECT_FALSE(IsJobId(sweep)) << sweep;
}

TEST(JobIdTest, RandomDigitsAreSpreadOverEveryHexDigit) {
  // 128 bits each: over 1000 ids every digit appears about 2000 times in every id position
  // taken together; a counter or a constant would fail this.
  int counts[16] = {};
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewJobId();
    for (char c : id.substr(kJobIdPrefix.size())) ++counts[c <= '9' ? c - '0' : c - 'a' + 10];
  }
  for (int d = 0; d < 16; ++d) {
    EXPECT_GT(counts[d], 1700) << "digit " << d;
    EXPECT_LT(counts[d], 2300) << "digit " << d;
  }
}

TEST(JobIdTest, OnlyTheExactSpellingIsAnId) {
  std::string id = NewJobId();
  std::string digits = id.substr(kJobIdPrefix.size());
  for (const std::string& other : std::vector<std::string>{
           " " + id, id + " ", "JOB-" + digits, "job-" + std::string(31, '0') + "8", "job-8",
           "job-00008", "job-+8", " job-8", "job-" + digits.substr(1), id + "0",
           "job-" + std::string(32, 'A'), "job-" + std::string(32, 'g'), std::string("job-\0", 5),
           std::string()}) {
    EXPECT_EQ(IsJobId(other), other == "job-" + std::string(31, '0') + "8") << "'" << other << "'";
  }
}

TEST(JobIdTest, CheckJobIdIsNotFoundQuotingAShortPrefix) {
  EXPECT_TRUE(CheckJobId(NewJobId(), "job_id").ok());
  absl::Status s = CheckJobId(" job-8", "job_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("job_id: no job has the id ' job-8'"));
  s = CheckJobId(std::string(1 << 20, 'j'), "job_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_LT(s.message().size(), 300u);
}

}  // namespace
}  // namespace actserve::server
