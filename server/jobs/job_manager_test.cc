#include "server/jobs/job_manager.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/api/convert_training.h"
#include "server/jobs/job_store.h"

namespace actserve::server {
namespace {

// The manager works on core types; jobs are described here as clients describe them, and
// converted as the service converts them.
absl::StatusOr<v1::Job> Submit(JobManager& jobs, const v1::JobSpec& spec) {
  absl::StatusOr<JobRequest> request = ToJobRequest(spec, TrainingLimits(), Backends());
  if (!request.ok()) return request.status();
  absl::StatusOr<JobView> view = jobs.Submit(*std::move(request));
  if (!view.ok()) return view.status();
  v1::Job out;
  ToProto(*view, &out);
  return out;
}

absl::StatusOr<v1::Sweep> SubmitSweep(JobManager& jobs, const v1::SubmitSweepRequest& sweep) {
  absl::StatusOr<std::vector<JobRequest>> requests =
      ToSweepRequests(sweep, TrainingLimits(), Backends());
  if (!requests.ok()) return requests.status();
  absl::StatusOr<SweepView> view = jobs.SubmitSweep(*std::move(requests), "");
  if (!view.ok()) return view.status();
  v1::Sweep out;
  ToProto(*view, &out);
  return out;
}

std::vector<v1::Job> List(const JobManager& jobs) {
  std::vector<v1::Job> out;
  for (const JobView& view : jobs.List()) ToProto(view, &out.emplace_back());
  return out;
}

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
    absl::StatusOr<v1::Job> job = Submit(jobs, Spec(64, 2));
    ASSERT_TRUE(job.ok()) << job.status();
    ids.push_back(job->id());
    WaitForEnd(jobs, job->id());
  }
  // Retention runs when the worker finishes: give it that moment.
  for (int i = 0; i < 100 && List(jobs).size() > 2; ++i) absl::SleepFor(absl::Milliseconds(5));
  std::vector<v1::Job> left = List(jobs);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id(), ids[2]);
  EXPECT_EQ(left[1].id(), ids[3]);
  EXPECT_EQ(jobs.Find(ids[0]).status().code(), absl::StatusCode::kNotFound);
}

TEST(JobManagerTest, CancelAllStopsRunningAndQueuedJobs) {
  JobManager jobs({.workers = 1, .max_queued = 8}, nullptr);
  absl::StatusOr<v1::Job> running = Submit(jobs, Spec(100000, 1000));
  absl::StatusOr<v1::Job> queued = Submit(jobs, Spec(100000, 1000));
  ASSERT_TRUE(running.ok() && queued.ok());
  EXPECT_FALSE(jobs.WaitUntilIdle(absl::Now() + absl::Milliseconds(50)));
  EXPECT_GT(jobs.memory_bytes(), 2 * 100000 * 3 * 4);
  jobs.CancelAll();
  EXPECT_TRUE(jobs.WaitUntilIdle(absl::Now() + absl::Seconds(5)));
  for (const v1::Job& j : List(jobs)) EXPECT_EQ(j.state(), v1::JOB_STATE_CANCELLED) << j.id();
  // What is left of the jobs is their reports and weights.
  EXPECT_LT(jobs.memory_bytes(), 1 << 20);
}

TEST(JobManagerTest, DrainingRefusesNewJobsAndSweeps) {
  JobManager jobs({}, nullptr);
  jobs.StartDraining();
  EXPECT_EQ(Submit(jobs, Spec(64, 1)).status().code(), absl::StatusCode::kUnavailable);
  v1::SubmitSweepRequest sweep;
  *sweep.mutable_spec() = Spec(64, 1);
  sweep.add_activations()->set_activation("relu");
  EXPECT_EQ(SubmitSweep(jobs, sweep).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(jobs.WaitUntilIdle(absl::Now()));
}

// Submits, watches (as listeners), cancels and deletes from several threads at once; every job
// must end, nothing may hang, and the manager must go idle.
TEST(JobManagerTest, ConcurrentSubmitsCancelsDeletesAndListenersEndCleanly) {
  JobManager jobs({.workers = 2, .max_queued = 64, .max_retained = 8}, nullptr);
  class Counter final : public JobListener {
   public:
    void OnJobUpdate() override { ++updates; }
    std::atomic<int> updates{0};
  };
  std::vector<std::thread> threads;
  std::atomic<int> submitted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<v1::Job> job = Submit(jobs, Spec(200 + 50 * i, 1 + (i % 3) * 20));
        if (!job.ok()) continue;
        ++submitted;
        absl::StatusOr<std::shared_ptr<Job>> handle = jobs.Find(job->id());
        Counter listener;
        if (handle.ok()) (*handle)->Subscribe(&listener);
        switch ((t + i) % 3) {
          case 0:
            (void)jobs.Cancel(job->id());
            break;
          case 1:
            (void)jobs.Delete(job->id());
            break;
          default:
            WaitForEnd(jobs, job->id());
        }
        if (handle.ok()) (*handle)->Unsubscribe(&listener);
        (void)List(jobs);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(submitted.load(), 40);
  EXPECT_TRUE(jobs.WaitUntilIdle(absl::Now() + absl::Seconds(30)));
  for (const v1::Job& j : List(jobs)) {
    EXPECT_TRUE(j.state() == v1::JOB_STATE_SUCCEEDED || j.state() == v1::JOB_STATE_CANCELLED)
        << j.id() << " " << v1::JobState_Name(j.state());
  }
  EXPECT_LE(List(jobs).size(), 8u);
}

// A manager on a store, stopped (as a server stops) at arbitrary moments while its jobs train
// and checkpoint, and replaced by a new manager on the store opened again: every job ends with
// the weights of an uninterrupted run, bit for bit. Readers poll the jobs meanwhile (TSan).
TEST(JobManagerTest, JobsOnAStoreResumeAcrossManagersBitIdentical) {
  v1::JobSpec spec = Spec(512, 30);
  spec.set_shuffle(true);
  spec.mutable_layers(0)->set_activation("rrelu");
  std::vector<train::LayerWeights> expected;
  {
    JobManager reference({.workers = 1, .max_queued = 8, .max_retained = 8}, nullptr);
    absl::StatusOr<v1::Job> job = Submit(reference, spec);
    ASSERT_TRUE(job.ok()) << job.status();
    WaitForEnd(reference, job->id());
    expected = (*reference.Find(job->id()))->View(true).weights;
  }
  char tmpl[] = "/tmp/job_manager_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const TrainingLimits limits;
  const Backends backends;
  JobManagerOptions options{.workers = 2,
                            .max_queued = 8,
                            .max_retained = 8,
                            .checkpoint_steps = 7,
                            .checkpoint_interval = absl::ZeroDuration()};
  options.rebuild = [&](const std::string& recipe) {
    return RebuildJobInput(recipe, limits, backends);
  };
  options.rebuild_network = RebuildNetwork;
  std::vector<std::string> ids;
  int restarts = 0;
  for (bool done = false; !done; ++restarts) {
    ASSERT_LT(restarts, 200);
    absl::StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    options.store = store->get();
    JobManager jobs(options, nullptr);
    while (ids.size() < 3) {
      absl::StatusOr<v1::Job> job = Submit(jobs, spec);
      ASSERT_TRUE(job.ok()) << job.status();
      ids.push_back(job->id());
    }
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop.load()) (void)List(jobs);
    });
    absl::SleepFor(absl::Milliseconds(20 + 13 * (restarts % 5)));
    stop.store(true);
    reader.join();
    done = true;
    for (const std::string& id : ids) done = done && (*jobs.Find(id))->ended();
    if (done) {
      for (const std::string& id : ids) {
        JobView view = (*jobs.Find(id))->View(true);
        EXPECT_EQ(view.state, JobState::kSucceeded) << id << " " << view.error;
        ASSERT_EQ(view.weights.size(), expected.size());
        for (size_t l = 0; l < expected.size(); ++l) {
          EXPECT_EQ(view.weights[l].weights, expected[l].weights) << id << " layer " << l;
          EXPECT_EQ(view.weights[l].bias, expected[l].bias) << id << " layer " << l;
        }
      }
    }
  }  // each pass: the manager stops (suspending its jobs), then the store closes
  EXPECT_GT(restarts, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace actserve::server
