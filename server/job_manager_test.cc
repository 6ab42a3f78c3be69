#include "server/job_manager.h"

#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace actserve::server {
namespace {

v1::JobSpec Spec(int64_t rows, int64_t epochs) {
  v1::JobSpec spec;
  EXPECT_TRUE(
      google::protobuf::TextFormat::ParseFromString(R"pb(
                                                      layers { units: 8 activation: "tanh" }
                                                      layers { units: 2 activation: "identity" }
                                                      loss: LOSS_SOFTMAX_CROSS_ENTROPY
                                                      optimizer { learning_rate: 0.1 }
                                                      data { generated { name: "xor" } }
                                                    )pb",
                                                    &spec));
  spec.mutable_data()->mutable_generated()->set_rows(rows);
  spec.set_epochs(epochs);
  return spec;
}

void WaitForEnd(const JobManager& jobs, const std::string& id) {
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<std::shared_ptr<Job>> job = jobs.Find(id);
    if (!job.ok() || (*job)->ended()) return;
    absl::SleepFor(absl::Milliseconds(5));
  }
  FAIL() << id << " did not end";
}

TEST(JobManagerTest, KeepsOnlyTheNewestEndedJobsBeyondTheRetentionLimit) {
  JobManager jobs({.workers = 1, .max_queued = 8, .max_retained = 2}, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<v1::Job> job = jobs.Submit(Spec(64, 2));
    ASSERT_TRUE(job.ok()) << job.status();
    ids.push_back(job->id());
    WaitForEnd(jobs, job->id());
  }
  // Retention runs when the worker finishes: give it that moment.
  for (int i = 0; i < 100 && jobs.List().size() > 2; ++i) absl::SleepFor(absl::Milliseconds(5));
  std::vector<v1::Job> left = jobs.List();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id(), ids[2]);
  EXPECT_EQ(left[1].id(), ids[3]);
  EXPECT_EQ(jobs.Find(ids[0]).status().code(), absl::StatusCode::kNotFound);
}

TEST(JobManagerTest, CancelAllStopsRunningAndQueuedJobs) {
  JobManager jobs({.workers = 1, .max_queued = 8}, nullptr);
  absl::StatusOr<v1::Job> running = jobs.Submit(Spec(100000, 1000));
  absl::StatusOr<v1::Job> queued = jobs.Submit(Spec(100000, 1000));
  ASSERT_TRUE(running.ok() && queued.ok());
  EXPECT_FALSE(jobs.WaitUntilIdle(absl::Now() + absl::Milliseconds(50)));
  EXPECT_GT(jobs.memory_bytes(), 2 * 100000 * 3 * 4);
  jobs.CancelAll();
  EXPECT_TRUE(jobs.WaitUntilIdle(absl::Now() + absl::Seconds(5)));
  for (const v1::Job& j : jobs.List()) EXPECT_EQ(j.state(), v1::JOB_STATE_CANCELLED) << j.id();
  // What is left of the jobs is their reports and weights.
  EXPECT_LT(jobs.memory_bytes(), 1 << 20);
}

TEST(JobManagerTest, DrainingRefusesNewJobsAndSweeps) {
  JobManager jobs({}, nullptr);
  jobs.StartDraining();
  EXPECT_EQ(jobs.Submit(Spec(64, 1)).status().code(), absl::StatusCode::kUnavailable);
  v1::SubmitSweepRequest sweep;
  *sweep.mutable_spec() = Spec(64, 1);
  sweep.add_activations()->set_activation("relu");
  EXPECT_EQ(jobs.SubmitSweep(sweep).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(jobs.WaitUntilIdle(absl::Now()));
}

}  // namespace
}  // namespace actserve::server
