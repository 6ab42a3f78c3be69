#include "server/auth/token_table.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/token_digest.h"

namespace actserve::server::auth {
namespace {

using ::testing::HasSubstr;

std::string Line(absl::string_view token, absl::string_view tenant, absl::string_view roles) {
  return absl::StrCat("sha256:", DigestToHex(DigestToken(token)), " ", tenant, " ", roles, "\n");
}

TEST(TokenDigestTest, MatchesTheKnownSha256OfAbc) {
  EXPECT_EQ(DigestToHex(DigestToken("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenDigestTest, HexRoundTripsInEitherCase) {
  const TokenDigest d = DigestToken("secret");
  absl::StatusOr<TokenDigest> upper = DigestFromHex(absl::AsciiStrToUpper(DigestToHex(d)));
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_TRUE(DigestsEqual(*upper, d));
  EXPECT_FALSE(DigestsEqual(DigestToken("secret2"), d));
}

TEST(TokenTableTest, FindsThePrincipalOfEachToken) {
  absl::StatusOr<TokenTable> table =
      TokenTable::Parse(absl::StrCat("# tokens\n\n", Line("t-alice", "alice", "compute,train"),
                                     "   # indented comment\n", Line("t-ops", "ops", "admin")));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2);
  std::optional<Principal> alice = table->Find("t-alice");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->tenant, "alice");
  EXPECT_TRUE(alice->roles.Grants(Role::kCompute));
  EXPECT_TRUE(alice->roles.Grants(Role::kTrain));
  EXPECT_FALSE(alice->is_admin());
  std::optional<Principal> ops = table->Find("t-ops");
  ASSERT_TRUE(ops.has_value());
  EXPECT_TRUE(ops->is_admin());
  EXPECT_TRUE(ops->roles.Grants(Role::kTrain)) << "admin implies every role";
  EXPECT_FALSE(table->Find("t-bob").has_value());
  EXPECT_FALSE(table->Find("").has_value());
}

TEST(TokenTableTest, AcceptsTabsCrlfAndAnEmptyFile) {
  EXPECT_TRUE(TokenTable::Parse("").ok());
  EXPECT_TRUE(TokenTable::Parse("# only comments\n\n").ok());
  absl::StatusOr<TokenTable> table = TokenTable::Parse(
      absl::StrCat("sha256:", DigestToHex(DigestToken("x")), "\tteam-1\tcompute\r\n"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Find("x")->tenant, "team-1");
}

TEST(TokenTableTest, RejectsMalformedLinesWithTheirNumbers) {
  const std::string good = Line("t", "alice", "compute");
  struct Case {
    std::string line;
    std::string expected;
  } cases[] = {
      {"mytoken alice compute", "sha256:<hex digest"},
      {"sha256:abc alice compute", "64 hex digits, this one has 3"},
      {absl::StrCat("sha256:", std::string(63, 'a'), "g alice compute"), "only hex digits"},
      {absl::StrCat("sha256:", std::string(64, 'a'), " alice"), "expected 3 fields"},
      {absl::StrCat("sha256:", std::string(64, 'a'), " alice compute extra"), "found 4"},
      {absl::StrCat("sha256:", std::string(64, 'a'), " al/ice compute"), "tenant \"al/ice\""},
      {absl::StrCat("sha256:", std::string(64, 'a'), " ", std::string(65, 't'), " compute"),
       "1 to 64 characters"},
      {absl::StrCat("sha256:", std::string(64, 'a'), " alice root"), "unknown role \"root\""},
      {absl::StrCat("sha256:", std::string(64, 'a'), " alice compute,"), "unknown role \"\""},
      {absl::StrCat("sha256:", std::string(64, 'a'), " alice Compute"), "unknown role"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TokenTable> table = TokenTable::Parse(absl::StrCat("# h\n", good, c.line, "\n"));
    ASSERT_FALSE(table.ok()) << c.line;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(table.status().message(), HasSubstr("line 3: ")) << c.line;
    EXPECT_THAT(table.status().message(), HasSubstr(c.expected)) << c.line;
  }
}

TEST(TokenTableTest, RejectsADigestListedTwice) {
  absl::StatusOr<TokenTable> table =
      TokenTable::Parse(absl::StrCat(Line("t", "alice", "compute"), Line("t", "bob", "train")));
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("line 2: this digest appears twice"));
}

TEST(TokenTableTest, CertificateLinesNameAClientCertificatesCommonName) {
  absl::StatusOr<TokenTable> table = TokenTable::Parse(
      absl::StrCat(Line("t", "alice", "compute"), "cert:svc-etl.example.com etl train\n"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2);
  std::optional<Principal> etl = table->FindCertificate("svc-etl.example.com");
  ASSERT_TRUE(etl.has_value());
  EXPECT_EQ(etl->tenant, "etl");
  EXPECT_TRUE(etl->roles.Grants(Role::kTrain));
  EXPECT_FALSE(table->FindCertificate("svc-etl").has_value()) << "exact names only";
  EXPECT_FALSE(table->Find("svc-etl.example.com").has_value()) << "a name is not a token";
  EXPECT_FALSE(table->FindCertificate("t").has_value()) << "a token is not a name";

  absl::StatusOr<TokenTable> twice =
      TokenTable::Parse("cert:a alice compute\ncert:a bob compute\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("line 2: this certificate name appears twice"));
  absl::StatusOr<TokenTable> empty = TokenTable::Parse("cert: alice compute\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("cert: must be followed by"));
}

TEST(TokenTableTest, ReportsTheFirstTenErrorsAndCountsTheRest) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "bad line\n";
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text);
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("line 10: "));
  EXPECT_THAT(table.status().message(), ::testing::Not(HasSubstr("line 11: ")));
  EXPECT_THAT(table.status().message(), HasSubstr("and 15 more malformed lines"));
}

TEST(TokenTableTest, LoadNamesAMissingFile) {
  absl::StatusOr<TokenTable> table = TokenTable::Load("/nonexistent/tokens");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(table.status().message(), HasSubstr("/nonexistent/tokens"));
}

}  // namespace
}  // namespace actserve::server::auth
