#include "server/auth/listen_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve::server::auth {
namespace {

using ::testing::HasSubstr;

TEST(ListenPolicyTest, RecognisesLoopbackAddresses) {
  for (const char* a : {"127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "LOCALHOST:1",
                        "[::1]:50051", "unix:/tmp/actserve.sock", "dns:///127.0.0.1:5"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.5:50051", "128.0.0.1:1",
                        "example.com:443", "[2001:db8::1]:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(ListenPolicyTest, LoopbackNeedsNoCredentials) {
  EXPECT_TRUE(CheckListenAddress("127.0.0.1:50051", {}).ok());
  EXPECT_FALSE(ServesInsecurely("127.0.0.1:50051", {}));
}

TEST(ListenPolicyTest, ElsewhereNeedsTlsAndAuthenticationOrInsecure) {
  absl::Status bare = CheckListenAddress("0.0.0.0:50051", {});
  EXPECT_EQ(bare.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(bare.message(), HasSubstr("--tls_cert and --tls_key"));
  EXPECT_THAT(bare.message(), HasSubstr("--tokens_file"));
  EXPECT_THAT(bare.message(), HasSubstr("--insecure"));

  absl::Status tls_only = CheckListenAddress("0.0.0.0:50051", {.tls = true});
  EXPECT_FALSE(tls_only.ok());
  EXPECT_THAT(tls_only.message(), ::testing::Not(HasSubstr("--tls_cert")));
  absl::Status tokens_only = CheckListenAddress("0.0.0.0:50051", {.tokens = true});
  EXPECT_FALSE(tokens_only.ok()) << "tokens in clear text can be sniffed";
  EXPECT_THAT(tokens_only.message(), HasSubstr("--tls_cert"));

  EXPECT_TRUE(CheckListenAddress("0.0.0.0:50051", {.tls = true, .tokens = true}).ok());
  EXPECT_TRUE(CheckListenAddress("[::]:1", {.tls = true, .client_certs = true}).ok());
  EXPECT_TRUE(CheckListenAddress("0.0.0.0:50051", {.insecure = true}).ok());
  EXPECT_TRUE(ServesInsecurely("0.0.0.0:50051", {.insecure = true}));
  EXPECT_FALSE(ServesInsecurely("0.0.0.0:50051", {.tls = true, .tokens = true}));
}

TEST(ListenPolicyTest, ReflectionOnLoopbackOrWhenAsked) {
  EXPECT_TRUE(ServeReflection("127.0.0.1:50051", false));
  EXPECT_FALSE(ServeReflection("0.0.0.0:50051", false));
  EXPECT_TRUE(ServeReflection("0.0.0.0:50051", true));
}

}  // namespace
}  // namespace actserve::server::auth
