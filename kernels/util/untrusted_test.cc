#include "kernels/util/untrusted.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve {
namespace {

using ::testing::HasSubstr;

TEST(QuoteUntrustedTest, ShortValuesAreQuotedWhole) {
  EXPECT_EQ(QuoteUntrusted("gelu"), "'gelu'");
  EXPECT_EQ(QuoteUntrusted(""), "''");
}

TEST(QuoteUntrustedTest, ControlQuoteAndNonAsciiBytesAreEscaped) {
  EXPECT_EQ(QuoteUntrusted(std::string("a\0'\n\xff", 5)), "'a\\x00\\'\\n\\xff'");
}

TEST(QuoteUntrustedTest, LongValuesAreCutToAShortPrefixWithTheirLength) {
  std::string huge(3 << 20, 'n');
  std::string quoted = QuoteUntrusted(huge);
  EXPECT_EQ(quoted, "'" + std::string(kQuotedPrefixBytes, 'n') + "'... (3145728 bytes)");
  // Even a value made only of bytes that need escaping stays small.
  EXPECT_LE(QuoteUntrusted(std::string(1 << 20, '\x01')).size(), 4 * kQuotedPrefixBytes + 40);
}

TEST(CheckLengthTest, AcceptsUpToTheLimitAndNamesTheFieldBeyond) {
  EXPECT_TRUE(CheckLength("name", std::string(kMaxJobNameBytes, 'x'), kMaxJobNameBytes).ok());
  absl::Status s = CheckLength("name", std::string(kMaxJobNameBytes + 1, 'x'), kMaxJobNameBytes);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("name: 'xxx"));
  EXPECT_THAT(s.message(), HasSubstr("(257 bytes) is longer than the limit of 256 bytes"));
  EXPECT_LT(s.message().size(), 200u);
  s = CheckLength("job_id", "abcdef", 3);
  EXPECT_EQ(s.message(), "job_id: 'abcdef' (6 bytes) is longer than the limit of 3 bytes");
}

}  // namespace
}  // namespace actserve
