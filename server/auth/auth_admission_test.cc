#include "server/auth/auth_admission.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/auth/test_pki.h"
#include "server/auth/token_digest.h"

namespace actserve::server::auth {
namespace {

// Counts the calls it is asked about: whether auth passed them on.
class Counting final : public Admission {
 public:
  absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo& call) override {
    ++asked;
    tenant = std::string(call.tenant);
    return nullptr;
  }
  int asked = 0;
  std::string tenant;  // of the last call asked about
};

absl::Status AdmitWith(Admission& admission, absl::string_view service, absl::string_view method,
                       const std::map<std::string, std::string>& headers) {
  auto header = [&headers](absl::string_view key) -> std::optional<absl::string_view> {
    auto it = headers.find(std::string(key));
    if (it == headers.end()) return std::nullopt;
    return absl::string_view(it->second);
  };
  return admission.Admit({.service = service, .method = method, .header = header}).status();
}

TEST(AuthAdmissionTest, ChecksTokenAndRoleThenAsksTheNextRule) {
  char dir[] = "/tmp/actserve-authadm-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = absl::StrCat(dir, "/tokens");
  ASSERT_TRUE(ReplaceFileForTest(
                  path, absl::StrCat("sha256:", DigestToHex(DigestToken("c")), " alice compute\n"))
                  .ok());
  absl::StatusOr<std::unique_ptr<TokenFileWatcher>> tokens =
      TokenFileWatcher::Start(path, absl::ZeroDuration(), nullptr);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  Counting next;
  std::unique_ptr<Admission> admission = NewAuthAdmission(**tokens, next);
  const std::string kAct = "actserve.v1.ActivationService", kTrain = "actserve.v1.TrainingService";

  EXPECT_TRUE(AdmitWith(*admission, kAct, "Forward", {{"authorization", "Bearer c"}}).ok());
  EXPECT_EQ(next.asked, 1);
  EXPECT_EQ(next.tenant, "alice") << "the next rules meter the token's tenant";
  EXPECT_EQ(AdmitWith(*admission, kAct, "Forward", {}).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AdmitWith(*admission, kAct, "Forward", {{"authorization", "Bearer x"}}).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AdmitWith(*admission, kTrain, "SubmitJob", {{"authorization", "Bearer c"}}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(next.asked, 1) << "refused calls never reach the next rule";
  EXPECT_TRUE(AdmitWith(*admission, "grpc.health.v1.Health", "Check", {}).ok());
  EXPECT_EQ(next.asked, 2);
  EXPECT_EQ(next.tenant, "") << "open methods have no tenant";
  std::system(absl::StrCat("rm -rf ", dir).c_str());
}

}  // namespace
}  // namespace actserve::server::auth
