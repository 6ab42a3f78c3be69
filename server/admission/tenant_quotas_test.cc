#include "server/admission/tenant_quotas.h"

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/admission/retry_delay.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;

std::optional<absl::string_view> NoHeader(absl::string_view) { return std::nullopt; }

CallInfo Call(absl::string_view tenant, int64_t bytes = 0) {
  return CallInfo{.service = "actserve.v1.ActivationService",
                  .method = "Forward",
                  .request_bytes = bytes,
                  .peer = "ipv4:1",
                  .tenant = tenant,
                  .header = NoHeader};
}

// A clock the test moves.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1000);
  std::function<absl::Time()> fn() {
    return [this] { return now; };
  }
};

// The next rule: refuses while `refuse` is set.
class Switch final : public Admission {
 public:
  bool refuse = false;
  absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo&) override {
    if (refuse) return absl::ResourceExhaustedError("memory");
    return nullptr;
  }
};

TenantUsage UsageOf(const TenantQuotas& q, absl::string_view tenant) {
  for (const TenantUsage& u : q.Usage()) {
    if (u.tenant == tenant) return u;
  }
  return {};
}

TEST(TenantQuotasTest, RateIsATokenBucketPerTenantWithTheWaitInTheRefusal) {
  FakeClock clock;
  Switch next;
  TenantQuotas quotas({.requests_per_second = 2, .burst = 3}, next, clock.fn());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(quotas.Admit(Call("greedy")).ok()) << i;
  absl::StatusOr<std::unique_ptr<Admission::Grant>> refused = quotas.Admit(Call("greedy"));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("'greedy'"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--tenant_rps"));
  ASSERT_TRUE(RetryDelay(refused.status()).has_value());
  EXPECT_EQ(*RetryDelay(refused.status()), absl::Milliseconds(500));  // one token at 2/s
  // Another tenant has its own bucket.
  EXPECT_TRUE(quotas.Admit(Call("modest")).ok());
  // A quarter second refills half a token: still refused, with the rest of the wait.
  clock.now += absl::Milliseconds(250);
  refused = quotas.Admit(Call("greedy"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(*RetryDelay(refused.status()), absl::Milliseconds(250));
  clock.now += absl::Milliseconds(250);
  EXPECT_TRUE(quotas.Admit(Call("greedy")).ok());
  // A long pause refills up to the burst, no more.
  clock.now += absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(quotas.Admit(Call("greedy")).ok()) << i;
  EXPECT_FALSE(quotas.Admit(Call("greedy")).ok());
  const TenantUsage greedy = UsageOf(quotas, "greedy");
  EXPECT_EQ(greedy.admitted, 7);
  EXPECT_EQ(greedy.rejected[static_cast<int>(QuotaReason::kRate)], 3);
  EXPECT_EQ(UsageOf(quotas, "modest").admitted, 1);
}

TEST(TenantQuotasTest, CallsInFlightAreHeldUntilTheGrantEnds) {
  Switch next;
  TenantQuotas quotas({.max_calls = 2}, next);
  auto a = quotas.Admit(Call("t"));
  auto b = quotas.Admit(Call("t"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto refused = quotas.Admit(Call("t"));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("--tenant_max_calls"));
  EXPECT_TRUE(RetryDelay(refused.status()).has_value());
  EXPECT_TRUE(quotas.Admit(Call("other")).ok());
  EXPECT_EQ(UsageOf(quotas, "t").calls_in_flight, 2);
  a->reset();
  EXPECT_EQ(UsageOf(quotas, "t").calls_in_flight, 1);
  EXPECT_TRUE(quotas.Admit(Call("t")).ok());
  EXPECT_EQ(UsageOf(quotas, "t").rejected[static_cast<int>(QuotaReason::kCalls)], 1);
}

TEST(TenantQuotasTest, BytesInFlightAndARequestThatCanNeverFit) {
  Switch next;
  TenantQuotas quotas({.max_bytes = 1000}, next);
  auto held = quotas.Admit(Call("t", 600));
  ASSERT_TRUE(held.ok());
  auto refused = quotas.Admit(Call("t", 500));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("600 request bytes in flight"));
  EXPECT_TRUE(RetryDelay(refused.status()).has_value());
  // Larger than the whole quota: retrying would not help, so no retry delay.
  auto never = quotas.Admit(Call("t", 1001));
  ASSERT_EQ(never.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(never.status().message(), HasSubstr("larger than tenant 't''s quota"));
  EXPECT_FALSE(RetryDelay(never.status()).has_value());
  EXPECT_TRUE(quotas.Admit(Call("u", 1000)).ok());
  held->reset();
  EXPECT_TRUE(quotas.Admit(Call("t", 1000)).ok());
  const TenantUsage t = UsageOf(quotas, "t");
  EXPECT_EQ(t.admitted_bytes, 1600);
  EXPECT_EQ(t.bytes_in_flight, 0);
  EXPECT_EQ(t.rejected[static_cast<int>(QuotaReason::kBytes)], 2);
}

TEST(TenantQuotasTest, ARefusalOfTheNextRuleGivesTheQuotaBack) {
  Switch next;
  TenantQuotas quotas({.max_calls = 1, .max_bytes = 100}, next);
  next.refuse = true;
  EXPECT_EQ(quotas.Admit(Call("t", 100)).status().message(), "memory");
  next.refuse = false;
  EXPECT_TRUE(quotas.Admit(Call("t", 100)).ok());
  EXPECT_EQ(UsageOf(quotas, "t").calls_in_flight, 0);
}

TEST(TenantQuotasTest, CallsWithoutATenantAreNotMetered) {
  Switch next;
  TenantQuotas quotas({.requests_per_second = 1, .max_calls = 1}, next);
  std::vector<std::unique_ptr<Admission::Grant>> held;
  for (int i = 0; i < 10; ++i) {
    auto grant = quotas.Admit(Call(""));
    ASSERT_TRUE(grant.ok());
    held.push_back(*std::move(grant));
  }
  EXPECT_TRUE(quotas.Usage().empty());
}

TEST(RetryDelayTest, RoundTripsThroughTheStatus) {
  absl::Status s = WithRetryDelay(absl::ResourceExhaustedError("x"), absl::Milliseconds(1234));
  EXPECT_EQ(RetryDelay(s), absl::Milliseconds(1234));
  EXPECT_EQ(RetryDelay(WithRetryDelay(absl::UnavailableError("y"), -absl::Seconds(1))),
            absl::ZeroDuration());
  EXPECT_FALSE(RetryDelay(absl::ResourceExhaustedError("z")).has_value());
}

}  // namespace
}  // namespace actserve::server
