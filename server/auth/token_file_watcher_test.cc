#include "server/auth/token_file_watcher.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/token_digest.h"

namespace actserve::server::auth {
namespace {

using ::testing::HasSubstr;

std::string Line(absl::string_view token, absl::string_view tenant) {
  return absl::StrCat("sha256:", DigestToHex(DigestToken(token)), " ", tenant, " compute\n");
}

class TokenFileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/actserve-tokens-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/tokens";
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

  // Replaces the file atomically (write, then rename), as deployment tools do.
  void Replace(const std::string& text) {
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp) << text;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  // Rewrites the file in place, as an editor may.
  void Rewrite(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::unique_ptr<TokenFileWatcher> Start(absl::Duration interval = absl::ZeroDuration()) {
    absl::StatusOr<std::unique_ptr<TokenFileWatcher>> w =
        TokenFileWatcher::Start(path_, interval, [this](const std::string& m) {
          absl::MutexLock lock(&mu_);
          reports_.push_back(m);
        });
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }
  std::vector<std::string> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }

  std::string dir_, path_;
  absl::Mutex mu_;
  std::vector<std::string> reports_ ABSL_GUARDED_BY(mu_);
};

TEST_F(TokenFileWatcherTest, RefusesToStartWithAMissingOrBrokenFile) {
  absl::StatusOr<std::unique_ptr<TokenFileWatcher>> missing =
      TokenFileWatcher::Start(path_, absl::ZeroDuration(), nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  Replace("garbage\n");
  absl::StatusOr<std::unique_ptr<TokenFileWatcher>> broken =
      TokenFileWatcher::Start(path_, absl::ZeroDuration(), nullptr);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.status().message(),
              HasSubstr(absl::StrCat("tokens file ", path_, ": line 1")));
}

TEST_F(TokenFileWatcherTest, ReloadsAReplacedAndARewrittenFile) {
  Replace(Line("one", "a"));
  std::unique_ptr<TokenFileWatcher> w = Start();
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->Current()->Find("one").has_value());
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_TRUE(reports().empty()) << "an unchanged file is not reloaded";

  Replace(Line("two", "b"));
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_FALSE(w->Current()->Find("one").has_value());
  EXPECT_EQ(w->Current()->Find("two")->tenant, "b");

  Rewrite(absl::StrCat(Line("two", "b"), Line("three", "c")));
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_EQ(w->Current()->size(), 2);
  ASSERT_EQ(reports().size(), 2u);
  EXPECT_THAT(reports()[1], HasSubstr("reloaded: 2 tokens"));
}

TEST_F(TokenFileWatcherTest, KeepsTheLastGoodTableWhenTheNewFileIsBroken) {
  Replace(Line("one", "a"));
  std::unique_ptr<TokenFileWatcher> w = Start();
  ASSERT_NE(w, nullptr);
  Replace(absl::StrCat(Line("two", "b"), "sha256:zz b compute\n"));
  absl::Status refused = w->CheckNow();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("line 2"));
  EXPECT_TRUE(w->Current()->Find("one").has_value());
  EXPECT_FALSE(w->Current()->Find("two").has_value());
  EXPECT_EQ(w->last_error().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_THAT(reports()[0], HasSubstr("line 2"));
  EXPECT_THAT(reports()[0], HasSubstr("keeping the previous 1 tokens"));
  EXPECT_FALSE(w->CheckNow().ok());
  EXPECT_EQ(reports().size(), 1u) << "a broken version is reported once";

  ASSERT_EQ(std::remove(path_.c_str()), 0);
  EXPECT_EQ(w->CheckNow().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(w->Current()->Find("one").has_value()) << "a deleted file keeps the tokens too";

  Replace(Line("two", "b"));
  EXPECT_TRUE(w->CheckNow().ok());
  EXPECT_TRUE(w->last_error().ok());
  EXPECT_TRUE(w->Current()->Find("two").has_value());
}

TEST_F(TokenFileWatcherTest, ItsThreadPicksUpAChangeWithinAFewIntervals) {
  Replace(Line("one", "a"));
  std::unique_ptr<TokenFileWatcher> w = Start(absl::Milliseconds(20));
  ASSERT_NE(w, nullptr);
  Replace(Line("two", "b"));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!w->Current()->Find("two").has_value() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(w->Current()->Find("two").has_value());
  w.reset();  // stops and joins its thread promptly
}

}  // namespace
}  // namespace actserve::server::auth
