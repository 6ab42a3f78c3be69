#include "server/compute/compute_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace actserve::server {
namespace {

TEST(ComputePoolTest, RunsEveryAcceptedTaskBeforeDestruction) {
  std::atomic<int> done{0};
  {
    ComputePool pool(2, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.TrySubmit([&] { done.fetch_add(1); }));
  }
  EXPECT_EQ(done.load(), 500);
}

TEST(ComputePoolTest, RejectsTasksBeyondTheQueueBound) {
  absl::Notification release;
  ComputePool pool(1, 2);
  absl::Notification started;
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the worker is busy; the queue is empty
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_EQ(pool.queued(), 2);
  EXPECT_FALSE(pool.TrySubmit([] {}));
  release.Notify();
}

}  // namespace
}  // namespace actserve::server
