#include "server/admission/memory_budget.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;

TEST(MemoryBudgetTest, ChargesWithinCapacityAndGivesBackOnDestruction) {
  MemoryBudget budget(1000);
  {
    absl::StatusOr<MemoryBudget::Reservation> a = budget.Reserve(600, "a");
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->bytes(), 600);
    EXPECT_EQ(budget.stats().reserved, 600);
    absl::StatusOr<MemoryBudget::Reservation> b = budget.Reserve(400, "b");
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(budget.stats().reserved, 1000);
  }
  MemoryBudget::Stats s = budget.stats();
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.peak_reserved, 1000);
  EXPECT_EQ(s.reservations, 2);
  EXPECT_EQ(s.rejections, 0);
}

TEST(MemoryBudgetTest, RefusalSaysWhatWasAskedAndWhatIsFree) {
  MemoryBudget budget(int64_t{1} << 30);
  absl::StatusOr<MemoryBudget::Reservation> held = budget.Reserve(int64_t{900} << 20, "held");
  ASSERT_TRUE(held.ok());
  absl::StatusOr<MemoryBudget::Reservation> r = budget.Reserve(int64_t{256} << 20, "Forward");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("Forward needs 256.0 MiB (268435456 bytes)"));
  EXPECT_THAT(r.status().message(), HasSubstr("124.0 MiB of the server's 1.0 GiB budget is free"));
  EXPECT_THAT(r.status().message(), HasSubstr("--max_memory_bytes"));
  EXPECT_EQ(budget.stats().rejections, 1);
  EXPECT_EQ(budget.stats().reserved, int64_t{900} << 20);  // a refusal charges nothing
}

TEST(MemoryBudgetTest, ChargeLargerThanTheWholeBudgetSaysSo) {
  MemoryBudget budget(1024);
  absl::StatusOr<MemoryBudget::Reservation> r = budget.Reserve(4096, "job job-x");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("more than the server's whole budget of 1.0 KiB"));
}

TEST(MemoryBudgetTest, NegativeChargeIsInvalidAndZeroAlwaysFits) {
  MemoryBudget budget(0);
  EXPECT_EQ(budget.Reserve(-1, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(budget.Reserve(0, "x").ok());
}

TEST(MemoryBudgetTest, MovedReservationIsGivenBackOnce) {
  MemoryBudget budget(100);
  MemoryBudget::Reservation outer;
  {
    absl::StatusOr<MemoryBudget::Reservation> r = budget.Reserve(70, "x");
    ASSERT_TRUE(r.ok());
    outer = std::move(*r);
  }
  EXPECT_EQ(budget.stats().reserved, 70);
  MemoryBudget::Reservation other = std::move(outer);
  EXPECT_EQ(outer.bytes(), 0);
  other.Release();
  other.Release();
  EXPECT_EQ(budget.stats().reserved, 0);
}

TEST(MemoryBudgetTest, ConcurrentChargesNeverExceedCapacity) {
  MemoryBudget budget(10000);
  std::atomic<int64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        absl::StatusOr<MemoryBudget::Reservation> r = budget.Reserve(1000 + i % 7, "x");
        if (r.ok()) {
          ++granted;
          EXPECT_LE(budget.stats().reserved, 10000);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  MemoryBudget::Stats s = budget.stats();
  EXPECT_EQ(s.reserved, 0);
  EXPECT_LE(s.peak_reserved, 10000);
  EXPECT_EQ(s.reservations, granted.load());
  EXPECT_EQ(s.reservations + s.rejections, 8 * 2000);
}

// A fake /proc/self/cgroup and /sys/fs/cgroup laid out as real files in a temporary folder.
class CgroupFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("cgroup_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& relative, const std::string& text) {
    std::filesystem::path p = root_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  int64_t Limit(std::string* source) {
    return CgroupMemoryLimit((root_ / "proc_self_cgroup").string(), (root_ / "sys").string(),
                             source);
  }
  std::filesystem::path root_;
};

TEST_F(CgroupFiles, V2LimitIsTheSmallestOfTheCgroupAndItsAncestors) {
  Write("proc_self_cgroup", "0::/user.slice/app.scope\n");
  Write("sys/user.slice/app.scope/memory.max", "max\n");
  Write("sys/user.slice/memory.max", "2147483648\n");
  std::string source;
  EXPECT_EQ(Limit(&source), int64_t{2} << 30);
  EXPECT_EQ(source, "cgroup v2 memory.max");
}

TEST_F(CgroupFiles, V1MemoryControllerLimit) {
  Write("proc_self_cgroup", "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n");
  Write("sys/memory/docker/abc/memory.limit_in_bytes", "536870912\n");
  std::string source;
  EXPECT_EQ(Limit(&source), int64_t{512} << 20);
  EXPECT_EQ(source, "cgroup v1 memory.limit_in_bytes");
}

TEST_F(CgroupFiles, UnlimitedOrMissingMeansNoLimit) {
  Write("proc_self_cgroup", "0::/\n4:memory:/\n");
  Write("sys/memory.max", "max\n");
  Write("sys/memory/memory.limit_in_bytes", "9223372036854771712\n");
  std::string source;
  EXPECT_EQ(Limit(&source), 0);
  EXPECT_EQ(CgroupMemoryLimit((root_ / "absent").string(), (root_ / "sys").string(), &source), 0);
}

TEST(ProcessMemoryLimitTest, IsPositiveAndNamesItsSource) {
  MemoryLimit limit = ProcessMemoryLimit();
  EXPECT_GT(limit.bytes, 0);
  EXPECT_FALSE(limit.source.empty());
  EXPECT_EQ(DefaultMaxMemoryBytes(), static_cast<int64_t>(limit.bytes * kDefaultBudgetFraction));
}

TEST(HumanBytesTest, ReadsAsPeopleWriteIt) {
  EXPECT_EQ(HumanBytes(512), "512 bytes");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(int64_t{3} << 30), "3.0 GiB");
}

}  // namespace
}  // namespace actserve::server
