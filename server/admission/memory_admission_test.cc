#include "server/admission/memory_admission.h"

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;

std::optional<absl::string_view> NoHeader(absl::string_view) { return std::nullopt; }

CallInfo Call(absl::string_view method, int64_t bytes, absl::string_view peer = "ipv4:1") {
  return CallInfo{.service = "actserve.v1.ActivationService",
                  .method = method,
                  .request_bytes = bytes,
                  .peer = peer,
                  .header = NoHeader};
}

TEST(MemoryAdmissionTest, ChargesRequestCopiesUntilTheGrantEnds) {
  MemoryBudget budget(1 << 20);
  std::unique_ptr<Admission> admission = NewMemoryAdmission(budget, {});
  {
    auto grant = admission->Admit(Call("Forward", 1000));
    ASSERT_TRUE(grant.ok()) << grant.status();
    EXPECT_EQ(budget.stats().reserved, kRequestCopies * 1000);
  }
  EXPECT_EQ(budget.stats().reserved, 0);
}

TEST(MemoryAdmissionTest, RefusalSaysWhatWasAskedAndWhatIsFree) {
  MemoryBudget budget(1 << 20);
  std::unique_ptr<Admission> admission = NewMemoryAdmission(budget, {.max_peer_bytes = 1 << 20});
  auto held = admission->Admit(Call("Forward", 200 << 10, "a"));
  ASSERT_TRUE(held.ok());
  auto refused = admission->Admit(Call("Forward", 100 << 10, "b"));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("Forward needs 400.0 KiB"));
  EXPECT_THAT(refused.status().message(), HasSubstr("224.0 KiB of the server's 1.0 MiB budget"));
  EXPECT_EQ(budget.stats().rejections, 1);
}

TEST(MemoryAdmissionTest, OneConnectionCannotTakeMoreThanHalfTheBudget) {
  MemoryBudget budget(1 << 20);
  std::unique_ptr<Admission> admission = NewMemoryAdmission(budget, {});
  std::vector<std::unique_ptr<Admission::Grant>> grants;
  for (int i = 0; i < 4; ++i) {
    auto g = admission->Admit(Call("Evaluate", 32 << 10, "greedy"));  // 128 KiB each
    ASSERT_TRUE(g.ok()) << i << ": " << g.status();
    grants.push_back(std::move(*g));
  }
  auto more = admission->Admit(Call("Evaluate", 32 << 10, "greedy"));
  ASSERT_EQ(more.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(more.status().message(), HasSubstr("this connection already holds 512.0 KiB"));
  // Another connection still gets the rest.
  EXPECT_TRUE(admission->Admit(Call("Evaluate", 32 << 10, "polite")).ok());
  grants.clear();
  EXPECT_TRUE(admission->Admit(Call("Evaluate", 32 << 10, "greedy")).ok());
}

TEST(MemoryAdmissionTest, StreamsBeyondTheLimitAreRefusedUntilOneEnds) {
  MemoryBudget budget(1 << 20);
  std::unique_ptr<Admission> admission = NewMemoryAdmission(budget, {.max_streams = 2});
  auto a = admission->Admit(Call("Evaluate", 0));
  auto b = admission->Admit(Call("WatchJob", 0));
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = admission->Admit(Call("Evaluate", 0));
  ASSERT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(c.status().message(), HasSubstr("2 streams are open"));
  a->reset();
  EXPECT_TRUE(admission->Admit(Call("Evaluate", 0)).ok());
  // Unary calls of unknown size (0 bytes) take nothing.
  auto unary = admission->Admit(Call("ListActivations", 0));
  ASSERT_TRUE(unary.ok());
  EXPECT_EQ(*unary, nullptr);
}

}  // namespace
}  // namespace actserve::server
