#include "server/jobs/job_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace actserve::server {
namespace {

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/job_store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static JobRecord Record(const std::string& id) {
    return {.id = id,
            .name = "n",
            .description = "d",
            .owner = "t",
            .request_id = "r-" + id,
            .create_time = absl::FromUnixSeconds(1000)};
  }

  std::string dir_;
};

TEST_F(JobStoreTest, JobsComeBackInOrderWithReportsAndOutcomes) {
  {
    auto store = JobStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->Add({{Record("job-b"), "recipe-b"}, {Record("job-a"), "recipe-a"}}, nullptr)
                    .ok());
    JobRecord a = Record("job-a");
    a.state = JobState::kSucceeded;
    train::Progress p;
    p.step = 5;
    JobOutcome outcome{.result = train::TrainResult{.steps = 5}, .weights = {{.bias = {1, 2}}}};
    ASSERT_TRUE((*store)->Finish(a, outcome, 0, {p, p}).ok());
    SweepRecord sweep{.id = "sweep-x", .description = "acts", .jobs = {Record("job-b")}};
    ASSERT_TRUE((*store)->Add({{Record("job-c"), ""}}, &sweep).ok());
  }
  auto store = JobStore::Open(dir_);  // the lock was released with the first
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<JobStore::Contents> contents = (*store)->Load();
  ASSERT_TRUE(contents.ok()) << contents.status();
  ASSERT_EQ(contents->jobs.size(), 3u);
  EXPECT_EQ(contents->jobs[0].record.id, "job-b");
  EXPECT_EQ(contents->jobs[0].recipe, "recipe-b");
  EXPECT_EQ(contents->jobs[1].record.state, JobState::kSucceeded);
  EXPECT_EQ(contents->jobs[1].reports.size(), 2u);
  EXPECT_EQ(contents->jobs[1].outcome.result->steps, 5);
  EXPECT_EQ(contents->jobs[1].outcome.weights[0].bias, (std::vector<double>{1, 2}));
  EXPECT_EQ(contents->jobs[0].record.create_time, absl::FromUnixSeconds(1000));
  EXPECT_EQ(contents->jobs[0].record.start_time, absl::InfinitePast());
  ASSERT_EQ(contents->sweeps.size(), 1u);
  EXPECT_EQ(contents->sweeps[0].jobs[0].id, "job-b");
  ASSERT_TRUE((*store)->Delete("job-a").ok());
  EXPECT_EQ((*store)->Load()->jobs.size(), 2u);
}

TEST_F(JobStoreTest, ASecondStoreOnTheDirectoryIsRefused) {
  auto first = JobStore::Open(dir_);
  ASSERT_TRUE(first.ok());
  auto second = JobStore::Open(dir_);
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_NE(second.status().message().find(std::to_string(getpid())), std::string::npos);
}

TEST_F(JobStoreTest, AnUncreatableDirectoryIsAClearError) {
  std::ofstream(dir_ + "/file") << "x";  // a file where the directory should be: even root fails
  auto store = JobStore::Open(dir_ + "/file/state");
  EXPECT_TRUE(absl::IsPermissionDenied(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("--state_dir"), std::string::npos) << store.status();
}

TEST_F(JobStoreTest, CheckpointsAreWholeOrAbsentAndDamageIsDataLoss) {
  auto store = JobStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  train::TrainCheckpoint c;
  c.step = 9;
  c.weights = {{.weights = {1, 2, 3}}};
  absl::StatusOr<std::string> name = (*store)->WriteCheckpoint("job-a", 9, c);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/checkpoints/" + *name + ".tmp"));
  EXPECT_EQ((*store)->ReadCheckpoint(*name)->weights[0].weights, c.weights[0].weights);
  EXPECT_GT((*store)->bytes_used(), 0);
  std::filesystem::resize_file(dir_ + "/checkpoints/" + *name, 20);
  EXPECT_TRUE(absl::IsDataLoss((*store)->ReadCheckpoint(*name).status()));
  (*store)->RemoveCheckpoint(*name);
  EXPECT_TRUE(absl::IsNotFound((*store)->ReadCheckpoint(*name).status()));
}

TEST_F(JobStoreTest, AnUnreadableDatabaseIsSetAsideAndTheServerStarts) {
  {
    auto store = JobStore::Open(dir_);
    ASSERT_TRUE(store.ok());
  }
  {
    std::ofstream garbage(dir_ + "/jobs.db", std::ios::binary | std::ios::trunc);
    garbage << std::string(8192, 'x');
  }
  auto store = JobStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_NE((*store)->salvage_report().find("damaged"), std::string::npos);
  EXPECT_TRUE((*store)->Load().ok());
  EXPECT_TRUE((*store)->Add({{Record("job-z"), ""}}, nullptr).ok());
}

}  // namespace
}  // namespace actserve::server
