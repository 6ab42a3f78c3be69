#include "server/auth/authenticator.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/token_digest.h"

namespace actserve::server::auth {
namespace {

using ::testing::HasSubstr;

TokenTable Tokens() {
  return *TokenTable::Parse(absl::StrCat("sha256:", DigestToHex(DigestToken("s3cret")),
                                         " alice compute\ncert:etl-client etl train\n"));
}

absl::StatusOr<Principal> Auth(std::vector<std::string> values) {
  std::vector<absl::string_view> views(values.begin(), values.end());
  return AuthenticateBearer(views, Tokens());
}

TEST(AuthenticatorTest, AcceptsAKnownBearerToken) {
  for (const char* value : {"Bearer s3cret", "bearer s3cret", "BEARER  s3cret "}) {
    absl::StatusOr<Principal> p = Auth({value});
    ASSERT_TRUE(p.ok()) << value << ": " << p.status();
    EXPECT_EQ(p->tenant, "alice");
  }
}

TEST(AuthenticatorTest, RefusesEveryMalformedHeaderAsUnauthenticated) {
  struct Case {
    std::vector<std::string> values;
    std::string expected;
  } cases[] = {
      {{}, "requires a token"},
      {{""}, "must be \"Bearer <token>\""},
      {{"s3cret"}, "must be \"Bearer <token>\""},
      {{"Basic czNjcmV0"}, "must be \"Bearer <token>\""},
      {{"Bearer"}, "must be \"Bearer <token>\""},
      {{"Bearer "}, "carries no token"},
      {{"Bearer    "}, "carries no token"},
      {{"Bearer s3cret", "Bearer s3cret"}, "not 2"},
      {std::vector<std::string>(100, "Bearer s3cret"), "not 100"},
      {{absl::StrCat("Bearer ", std::string(1 << 20, 'a'))}, "at most 8192"},
      {{"Bearer S3CRET"}, "unknown token"},
      {{"Bearer s3cret, Bearer s3cret"}, "send one authorization value"},
      {{"Bearer s3c ret"}, "holds ' '"},
      {{"Bearer s3cret2"}, "unknown token"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Principal> p = Auth(c.values);
    const std::string what = c.values.empty() ? "(none)" : c.values.front().substr(0, 40);
    ASSERT_FALSE(p.ok()) << what;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << what;
    EXPECT_THAT(p.status().message(), HasSubstr(c.expected)) << what;
  }
}

TEST(AuthenticatorTest, AcceptsAValueOfExactlyTheLimit) {
  const std::string token(kMaxAuthorizationBytes - 7, 'k');
  TokenTable table = *TokenTable::Parse(
      absl::StrCat("sha256:", DigestToHex(DigestToken(token)), " big compute\n"));
  const std::string value = absl::StrCat("Bearer ", token);
  ASSERT_EQ(value.size(), kMaxAuthorizationBytes);
  std::vector<absl::string_view> views = {value};
  EXPECT_TRUE(AuthenticateBearer(views, table).ok());
}

TEST(AuthenticatorTest, AVerifiedClientCertificateListedInTheFileStandsInForAToken) {
  const TokenTable tokens = Tokens();
  absl::StatusOr<Principal> etl = Authenticate({}, "etl-client", tokens);
  ASSERT_TRUE(etl.ok()) << etl.status();
  EXPECT_EQ(etl->tenant, "etl");
  // A token, when sent, decides (and a bad one is refused even with a listed certificate).
  const std::vector<absl::string_view> token = {"Bearer s3cret"};
  absl::StatusOr<Principal> alice = Authenticate(token, "etl-client", tokens);
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->tenant, "alice");
  const std::vector<absl::string_view> wrong = {"Bearer nope"};
  EXPECT_EQ(Authenticate(wrong, "etl-client", tokens).status().code(),
            absl::StatusCode::kUnauthenticated);
  // An unlisted certificate, and no certificate at all.
  absl::StatusOr<Principal> unlisted = Authenticate({}, "mallory", tokens);
  EXPECT_EQ(unlisted.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unlisted.status().message(), HasSubstr("\"mallory\" has no cert: line"));
  EXPECT_THAT(Authenticate({}, "", tokens).status().message(),
              HasSubstr("the server requires a token"));
}

}  // namespace
}  // namespace actserve::server::auth
