// End-to-end tests of actserve.v1.TrainingService on the real actserve binary over gRPC: jobs
// from submission to prediction, watching, determinism, sweeps, every bad input the API promises
// a precise status for, queue and job limits, cancellation latency and the release of a job's
// memory, the training metrics, and actctl's training commands.
#include <signal.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/lib/training_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kServer[] = ACTSERVE_BINARY;
constexpr char kActctl[] = ACTCTL_BINARY;
constexpr char kSourceDir[] = ACTSERVE_SOURCE_DIR;

v1::JobSpec Spec(const std::string& text) {
  absl::StatusOr<v1::JobSpec> spec = client::ParseJobSpec(text, /*json=*/false);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::JobSpec();
}

// A small xor job: 60 epochs of 20 steps.
v1::JobSpec Xor() {
  return Spec(R"pb(
    name: "xor"
    layers { units: 8 activation: "tanh" }
    layers { units: 2 activation: "identity" }
    loss: LOSS_SOFTMAX_CROSS_ENTROPY
    optimizer { kind: KIND_MOMENTUM learning_rate: 0.1 }
    batch_size: 16
    epochs: 60
    seed: 1
    data { generated { name: "xor" rows: 320 seed: 1 } }
  )pb");
}

// A job that trains for minutes unless cancelled: a million rows (24 MB of data), reporting
// every 10 steps.
v1::JobSpec Long() {
  return Spec(R"pb(
    name: "long"
    layers { units: 32 activation: "relu" }
    layers { units: 2 activation: "identity" }
    loss: LOSS_SOFTMAX_CROSS_ENTROPY
    optimizer { learning_rate: 0.01 }
    batch_size: 64
    epochs: 500
    report_every_steps: 100
    data { generated { name: "moons" rows: 1000000 seed: 1 } }
  )pb");
}

int64_t RssBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    int64_t kb = 0;
    if (absl::StartsWith(line, "VmRSS:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::StripSuffix(line.substr(6), "kB")),
                         &kb)) {
      return kb * 1024;
    }
  }
  return -1;
}

class TrainingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = ServerProcess::Start(
        kServer, {"--training_workers=2", "--max_job_parameters=100000", "--max_job_time=10m"});
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(SIGTERM, absl::Seconds(30)), 0) << server_->Stderr();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    client_ = client::TrainingClient::Connect(server_->address());
  }

  // Submits and watches to the end; the reports go to `reports` if given.
  v1::Job Run(const v1::JobSpec& spec, std::vector<v1::Progress>* reports = nullptr) {
    absl::StatusOr<v1::Job> job = client_->Submit(spec);
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return v1::Job();
    absl::StatusOr<v1::Job> ended = client_->Watch(job->id(), 0, [&](const v1::Progress& p) {
      if (reports != nullptr) reports->push_back(p);
    });
    EXPECT_TRUE(ended.ok()) << ended.status();
    return ended.ok() ? *ended : v1::Job();
  }

  static ServerProcess* server_;
  std::unique_ptr<client::TrainingClient> client_;
};
ServerProcess* TrainingTest::server_ = nullptr;

TEST_F(TrainingTest, XorJobSucceedsAndWatchReplaysEveryReport) {
  std::vector<v1::Progress> reports;
  v1::Job job = Run(Xor(), &reports);
  EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.error().message();
  ASSERT_EQ(reports.size(), 60u);
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].epoch(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(reports[i].step(), static_cast<int64_t>(20 * (i + 1)));
    ASSERT_EQ(reports[i].layers_size(), 2);
    EXPECT_TRUE(reports[i].has_train_accuracy());
  }
  EXPECT_LT(reports.back().train_loss(), reports.front().train_loss());
  EXPECT_GE(job.result().train_accuracy(), 0.99);
  EXPECT_EQ(job.result().stop_reason(), "completed");
  EXPECT_EQ(job.reports(), 60);

  // A second watch of the ended job replays the same reports, from any point.
  std::vector<v1::Progress> again;
  ASSERT_TRUE(
      client_->Watch(job.id(), 55, [&](const v1::Progress& p) { again.push_back(p); }).ok());
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again[0].SerializeAsString(), reports[55].SerializeAsString());

  absl::StatusOr<v1::Job> full = client_->Get(job.id(), /*include_weights=*/true);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->weights_size(), 2);
  EXPECT_THAT(full->weights(0).weights().shape(), ::testing::ElementsAre(8, 2));
  EXPECT_THAT(full->weights(1).bias().shape(), ::testing::ElementsAre(2));
  EXPECT_EQ(full->weights(0).weights().float_data_size(), 16);
  // The echoed description keeps everything but inline data.
  EXPECT_EQ(full->spec().data().generated().name(), "xor");
}

TEST_F(TrainingTest, PredictWithTheJobOrWithItsWeightsGivesTheSameOutputs) {
  v1::Job job = Run(Xor());
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
  v1::PredictRequest by_job;
  by_job.set_job_id(job.id());
  v1::Tensor* x = by_job.mutable_features();
  x->add_shape(4);
  x->add_shape(2);
  x->set_dtype(v1::DTYPE_FLOAT32);
  for (float v : {1.f, 1.f, 1.f, -1.f, -1.f, 1.f, -1.f, -1.f}) x->add_float_data(v);
  absl::StatusOr<v1::PredictResponse> a = client_->Predict(by_job);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->classes(), ::testing::ElementsAre(0, 1, 1, 0));
  EXPECT_THAT(a->outputs().shape(), ::testing::ElementsAre(4, 2));

  absl::StatusOr<v1::Job> full = client_->Get(job.id(), true);
  ASSERT_TRUE(full.ok());
  v1::PredictRequest by_weights;
  *by_weights.mutable_features() = by_job.features();
  v1::Network* net = by_weights.mutable_network();
  net->set_inputs(2);
  *net->mutable_layers() = job.spec().layers();
  *net->mutable_weights() = full->weights();
  net->set_loss(v1::LOSS_SOFTMAX_CROSS_ENTROPY);
  absl::StatusOr<v1::PredictResponse> b = client_->Predict(by_weights);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

TEST_F(TrainingTest, SameDescriptionAndSeedGiveBitIdenticalWeightsAndProgress) {
  v1::JobSpec spec = Xor();
  spec.mutable_layers(0)->set_activation("rrelu");  // noise in training: seeded too
  spec.set_validation_fraction(0.25);
  spec.set_epochs(10);
  std::vector<v1::Progress> ra, rb;
  v1::Job a = Run(spec, &ra), b = Run(spec, &rb);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    ra[i].clear_elapsed_seconds();
    rb[i].clear_elapsed_seconds();
    EXPECT_EQ(ra[i].SerializeAsString(), rb[i].SerializeAsString()) << "report " << i;
  }
  auto wa = client_->Get(a.id(), true), wb = client_->Get(b.id(), true);
  ASSERT_TRUE(wa.ok() && wb.ok());
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(wa->weights(l).SerializeAsString(), wb->weights(l).SerializeAsString());
  }
  spec.set_seed(2);
  auto wc = client_->Get(Run(spec).id(), true);
  ASSERT_TRUE(wc.ok());
  EXPECT_NE(wa->weights(0).SerializeAsString(), wc->weights(0).SerializeAsString());
}

TEST_F(TrainingTest, BadInputGetsAPreciseStatusNamingTheField) {
  struct Bad {
    std::function<void(v1::JobSpec&)> mutate;
    absl::StatusCode code;
    std::string message;
  } cases[] = {
      {[](v1::JobSpec& s) { s.mutable_layers(0)->set_units(0); },
       absl::StatusCode::kInvalidArgument, "layers[0].units: 0 is out of range"},
      {[](v1::JobSpec& s) { s.mutable_layers(0)->set_units(-3); },
       absl::StatusCode::kInvalidArgument, "layers[0].units"},
      {[](v1::JobSpec& s) { s.mutable_layers(0)->set_activation("nope"); },
       absl::StatusCode::kInvalidArgument, "layers[0].activation: "},
      {[](v1::JobSpec& s) { s.set_loss(v1::LOSS_UNSPECIFIED); }, absl::StatusCode::kInvalidArgument,
       "loss: LOSS_UNSPECIFIED is not a loss"},
      {[](v1::JobSpec& s) { s.set_loss(static_cast<v1::Loss>(42)); },
       absl::StatusCode::kInvalidArgument, "loss: value 42 is not a loss"},
      {[](v1::JobSpec& s) { s.mutable_layers(1)->set_units(1); },
       absl::StatusCode::kInvalidArgument,
       "loss: softmax cross-entropy needs at least 2 output units"},
      {[](v1::JobSpec& s) { s.mutable_optimizer()->set_learning_rate(0); },
       absl::StatusCode::kInvalidArgument, "optimizer.learning_rate: 0 is out of range"},
      {[](v1::JobSpec& s) { s.mutable_optimizer()->set_learning_rate(-1); },
       absl::StatusCode::kInvalidArgument, "optimizer.learning_rate"},
      {[](v1::JobSpec& s) { s.mutable_optimizer()->set_learning_rate(NAN); },
       absl::StatusCode::kInvalidArgument, "optimizer.learning_rate: nan"},
      {[](v1::JobSpec& s) { s.mutable_optimizer()->set_l2(INFINITY); },
       absl::StatusCode::kInvalidArgument, "optimizer.l2"},
      {[](v1::JobSpec& s) { s.set_batch_size(1000); }, absl::StatusCode::kInvalidArgument,
       "batch_size: 1000 is larger than the 320 training rows"},
      {[](v1::JobSpec& s) { s.set_batch_size(0); }, absl::StatusCode::kInvalidArgument,
       "batch_size: 0 is out of range"},
      {[](v1::JobSpec& s) { s.set_epochs(-1); }, absl::StatusCode::kInvalidArgument, "epochs"},
      {[](v1::JobSpec& s) { s.clear_data(); }, absl::StatusCode::kInvalidArgument,
       "data: has no source"},
      {[](v1::JobSpec& s) { s.mutable_data()->mutable_generated()->set_name("mnist"); },
       absl::StatusCode::kInvalidArgument, "data.generated.name: unknown dataset 'mnist'"},
      {[](v1::JobSpec& s) { s.mutable_data()->mutable_generated()->set_rows(0); },
       absl::StatusCode::kInvalidArgument, "data.generated.rows"},
      {[](v1::JobSpec& s) { s.set_inputs(3); }, absl::StatusCode::kInvalidArgument,
       "data.features: rows have 2 features but the network has 3 inputs"},
      {[](v1::JobSpec& s) { s.set_dtype(static_cast<v1::DType>(9)); },
       absl::StatusCode::kInvalidArgument, "dtype: unknown value 9"},
      {[](v1::JobSpec& s) { s.set_validation_fraction(1.5); }, absl::StatusCode::kInvalidArgument,
       "validation_fraction"},
      {[](v1::JobSpec& s) { s.mutable_init()->set_kind(v1::Initialization::KIND_EXPLICIT); },
       absl::StatusCode::kInvalidArgument, "init.weights: has 0 layers; expected 2"},
      {[](v1::JobSpec& s) {
         s.mutable_init()->set_kind(v1::Initialization::KIND_EXPLICIT);
         for (int l = 0; l < 2; ++l) {
           v1::LayerWeights* w = s.mutable_init()->add_weights();
           w->mutable_weights()->set_dtype(v1::DTYPE_FLOAT32);
           w->mutable_weights()->add_shape(3);
           w->mutable_weights()->add_shape(3);
           w->mutable_weights()->mutable_float_data()->Resize(9, 0.f);
         }
       },
       absl::StatusCode::kInvalidArgument,
       "init.weights[0].weights.shape: is [3, 3]; expected [8, 2] (units x inputs)"},
      {[](v1::JobSpec& s) { s.mutable_layers(0)->set_units(100000); },
       absl::StatusCode::kResourceExhausted, "parameters; the limit is 100000"},
      {[](v1::JobSpec& s) { s.set_epochs(int64_t{1} << 40); }, absl::StatusCode::kResourceExhausted,
       "epochs:"},
      {[](v1::JobSpec& s) { s.set_max_seconds(3600); }, absl::StatusCode::kResourceExhausted,
       "max_seconds: 3600 s exceeds the server's limit of 600 s"},
      {[](v1::JobSpec& s) {
         s.set_report_every_steps(1);
         s.set_epochs(100000);
       },
       absl::StatusCode::kResourceExhausted, "progress reports; the limit is"},
  };
  for (const Bad& bad : cases) {
    v1::JobSpec spec = Xor();
    bad.mutate(spec);
    absl::StatusOr<v1::Job> job = client_->Submit(spec);
    ASSERT_FALSE(job.ok()) << "accepted: " << spec.ShortDebugString();
    EXPECT_EQ(job.status().code(), bad.code) << job.status();
    EXPECT_THAT(std::string(job.status().message()), HasSubstr(bad.message));
  }
}

TEST_F(TrainingTest, BadInlineDataNamesTheValue) {
  auto inline_xor = [] {
    v1::JobSpec spec = Xor();
    v1::InlineData* d = spec.mutable_data()->mutable_inline_();
    d->mutable_features()->set_dtype(v1::DTYPE_FLOAT64);
    d->mutable_features()->add_shape(4);
    d->mutable_features()->add_shape(2);
    for (double v : {0., 0., 0., 1., 1., 0., 1., 1.}) d->mutable_features()->add_double_data(v);
    d->mutable_targets()->set_dtype(v1::DTYPE_FLOAT32);
    d->mutable_targets()->add_shape(4);
    for (float v : {0.f, 1.f, 1.f, 0.f}) d->mutable_targets()->add_float_data(v);
    spec.set_batch_size(4);
    return spec;
  };
  v1::JobSpec good = inline_xor();
  good.set_epochs(5);
  EXPECT_EQ(Run(good).state(), v1::JOB_STATE_SUCCEEDED);

  v1::JobSpec nan = inline_xor();
  nan.mutable_data()->mutable_inline_()->mutable_features()->set_double_data(5, NAN);
  EXPECT_THAT(client_->Submit(nan).status().message(),
              HasSubstr("data.features[5]: nan is not finite"));
  v1::JobSpec label = inline_xor();
  label.mutable_data()->mutable_inline_()->mutable_targets()->set_float_data(2, 2.f);
  EXPECT_THAT(client_->Submit(label).status().message(),
              HasSubstr("data.targets[2]: 2 is not a class index; expected an integer in [0, 2)"));
  v1::JobSpec rows = inline_xor();
  rows.mutable_data()->mutable_inline_()->mutable_targets()->set_shape(0, 3);
  rows.mutable_data()->mutable_inline_()->mutable_targets()->mutable_float_data()->RemoveLast();
  EXPECT_THAT(client_->Submit(rows).status().message(),
              HasSubstr("data.inline.targets.shape: is [3]; expected [4] or [4, outputs]"));
  v1::JobSpec short_data = inline_xor();
  short_data.mutable_data()
      ->mutable_inline_()
      ->mutable_features()
      ->mutable_double_data()
      ->RemoveLast();
  EXPECT_EQ(client_->Submit(short_data).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrainingTest, UnknownIdsAreNotFoundAndEndedJobsCannotBeCancelled) {
  for (const std::string id : {"job-999999", "nonsense", ""}) {
    EXPECT_EQ(client_->Get(id).status().code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(client_->Cancel(id).status().code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(client_->Delete(id).code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(client_->Watch(id, 0, nullptr).status().code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(client_->GetSweep(id).status().code(), absl::StatusCode::kNotFound) << id;
  }
  v1::Job job = Run(Xor());
  absl::StatusOr<v1::Job> again = client_->Cancel(job.id());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("has already ended (JOB_STATE_SUCCEEDED)"));
  EXPECT_EQ(client_->Watch(job.id(), -1, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::PredictRequest none;
  EXPECT_THAT(client_->Predict(none).status().message(), HasSubstr("model: neither job_id"));
}

TEST_F(TrainingTest, ADivergingJobFailsWithItsReason) {
  v1::JobSpec spec = Spec(R"pb(
    layers { units: 16 activation: "relu" }
    layers { units: 1 activation: "identity" }
    loss: LOSS_MEAN_SQUARED_ERROR
    optimizer { learning_rate: 1e6 }
    epochs: 50
    data { generated { name: "sine" rows: 64 } }
  )pb");
  v1::Job job = Run(spec);
  EXPECT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.error().code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(job.error().message(), HasSubstr("the training loss became"));
  v1::PredictRequest predict;
  predict.set_job_id(job.id());
  EXPECT_EQ(client_->Predict(predict).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TrainingTest, CancelStopsARunningJobWithin100msAndFreesItsMemory) {
  const int64_t rss_before = RssBytes(server_->pid());
  absl::StatusOr<v1::Job> job = client_->Submit(Long());
  ASSERT_TRUE(job.ok()) << job.status();
  // Wait for the first report: the job is running.
  std::thread watcher([&] {
    absl::StatusOr<v1::Job> ended = client_->Watch(job->id(), 0, nullptr);
    EXPECT_TRUE(ended.ok()) << ended.status();
    EXPECT_EQ(ended->state(), v1::JOB_STATE_CANCELLED);
  });
  absl::StatusOr<v1::Job> running;
  for (int i = 0; i < 500; ++i) {
    running = client_->Get(job->id());
    if (running.ok() && running->reports() > 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(running->state(), v1::JOB_STATE_RUNNING);
  EXPECT_GT(running->memory_bytes(), 24 << 20);
  const int64_t rss_running = RssBytes(server_->pid());

  const absl::Time start = absl::Now();
  absl::StatusOr<v1::Job> cancelled = client_->Cancel(job->id());
  const absl::Duration latency = absl::Now() - start;
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  std::printf("cancel latency (rpc, until the worker stopped): %s\n",
              absl::FormatDuration(latency).c_str());
  EXPECT_EQ(cancelled->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_LT(latency, absl::Milliseconds(100));
  EXPECT_EQ(cancelled->result().stop_reason(), "cancelled");
  // The data and buffers are gone; the weights and reports remain until deletion.
  EXPECT_LT(cancelled->memory_bytes(), 1 << 20);
  const int64_t rss_cancelled = RssBytes(server_->pid());
  std::printf("server RSS: %.1f MiB before, %.1f MiB running, %.1f MiB after cancel\n",
              rss_before / 1048576.0, rss_running / 1048576.0, rss_cancelled / 1048576.0);
  // The job held 12 MB of training data as float (1M rows x (2 features + 1 target)).
  EXPECT_LT(rss_cancelled, rss_running - (8 << 20));
  watcher.join();
  ASSERT_TRUE(client_->Delete(job->id()).ok());
  EXPECT_EQ(client_->Get(job->id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TrainingTest, DeletingARunningJobCancelsAndForgetsIt) {
  absl::StatusOr<v1::Job> job = client_->Submit(Long());
  ASSERT_TRUE(job.ok());
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_TRUE(client_->Delete(job->id()).ok());
  EXPECT_EQ(client_->Get(job->id()).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<v1::Job>> jobs = client_->List();
  ASSERT_TRUE(jobs.ok());
  for (const v1::Job& j : *jobs) EXPECT_NE(j.id(), job->id());
}

TEST_F(TrainingTest, SweepTrainsOneJobPerActivationFromTheSameStart) {
  v1::SubmitSweepRequest request;
  *request.mutable_spec() = Xor();
  request.mutable_spec()->set_epochs(1);
  request.mutable_spec()->mutable_optimizer()->set_learning_rate(1e-9);  // weights stay put
  for (const char* a : {"relu", "tanh", "sigmoid"}) request.add_activations()->set_activation(a);
  absl::StatusOr<v1::Sweep> sweep = client_->SubmitSweep(request);
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  ASSERT_EQ(sweep->jobs_size(), 3);
  for (const v1::Job& j : sweep->jobs()) ASSERT_TRUE(client_->Watch(j.id(), 0, nullptr).ok());
  sweep = client_->GetSweep(sweep->id());
  ASSERT_TRUE(sweep.ok());
  const char* expected[] = {"relu", "tanh", "sigmoid"};
  for (int i = 0; i < 3; ++i) {
    const v1::Job& j = sweep->jobs(i);
    EXPECT_EQ(j.state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_EQ(j.sweep_id(), sweep->id());
    EXPECT_EQ(j.spec().layers(0).activation(), expected[i]);
    EXPECT_EQ(j.spec().layers(1).activation(), "identity");  // the output layer keeps its own
    // Same initial weights: with a negligible learning rate the norms agree.
    EXPECT_NEAR(j.last_progress().layers(0).weight_norm(),
                sweep->jobs(0).last_progress().layers(0).weight_norm(), 1e-5);
  }
  v1::SubmitSweepRequest bad = request;
  bad.mutable_activations(1)->set_activation("nope");
  EXPECT_THAT(client_->SubmitSweep(bad).status().message(),
              HasSubstr("activations[1] ('nope'): layers[0].activation"));
}

// Without a GPU (the server exports actserve_cuda_devices 0), a BACKEND_CUDA job is refused as
// UNAVAILABLE; with one, it trains there and its loss curve tracks the same job on the CPU.
TEST_F(TrainingTest, ACudaJobTrainsOnTheGpuOrIsUnavailable) {
  auto [rc, text] = RunCommand("curl -sf " + server_->metrics_url());
  ASSERT_EQ(rc, 0);
  const double devices = MetricValue(text, "actserve_cuda_devices");
  ASSERT_GE(devices, 0) << "actserve_cuda_devices is not exported";
  v1::JobSpec gpu = Xor();
  gpu.set_epochs(10);
  gpu.set_dtype(v1::DTYPE_FLOAT64);
  gpu.set_backend(v1::BACKEND_CUDA);
  if (devices == 0) {
    absl::Status refused = client_->Submit(gpu).status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
    EXPECT_THAT(refused.message(), HasSubstr("BACKEND_CUDA is not available"));
    return;
  }
  v1::JobSpec cpu = gpu;
  cpu.set_backend(v1::BACKEND_CPU);
  std::vector<v1::Progress> on_gpu, on_cpu;
  EXPECT_EQ(Run(gpu, &on_gpu).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(Run(cpu, &on_cpu).state(), v1::JOB_STATE_SUCCEEDED);
  ASSERT_EQ(on_gpu.size(), on_cpu.size());
  for (size_t i = 0; i < on_cpu.size(); ++i) {
    EXPECT_NEAR(on_gpu[i].train_loss(), on_cpu[i].train_loss(),
                1e-9 * std::max(1.0, on_cpu[i].train_loss()))
        << "epoch " << i + 1;
  }
}

TEST_F(TrainingTest, TrainingMetricsAreExported) {
  Run(Xor());
  auto [rc, text] = RunCommand("curl -sf " + server_->metrics_url());
  ASSERT_EQ(rc, 0);
  EXPECT_GE(MetricValue(text, "actserve_training_jobs_submitted_total"), 1);
  EXPECT_GE(MetricValue(text, "actserve_training_jobs_ended_total{state=\"succeeded\"}"), 1);
  EXPECT_GE(MetricValue(text, "actserve_training_steps_total"), 1200);
  EXPECT_GE(MetricValue(text, "actserve_training_jobs{state=\"running\"}"), 0);
  EXPECT_GE(MetricValue(text, "actserve_training_memory_bytes"), 0);
  EXPECT_GE(MetricValue(text, "actserve_training_job_duration_seconds_count"), 1);
  EXPECT_GE(MetricValue(text,
                        "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"SubmitJob\","
                        "grpc_service=\"actserve.v1.TrainingService\",grpc_type=\"unary\"}"),
            1);
}

TEST_F(TrainingTest, ActctlTrainsAnExampleJobAndDrawsItsCurves) {
  const std::string svg = ::testing::TempDir() + "/xor_curves.svg";
  auto [rc, out] =
      RunCommand(absl::StrCat(kActctl, " --server=", server_->address(), " train ", kSourceDir,
                              "/client/examples/xor.textproto --curves=", svg, " 2>&1"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("succeeded"));
  EXPECT_THAT(out, HasSubstr("acc 1.000"));
  std::ifstream f(svg);
  std::stringstream content;
  content << f.rdbuf();
  EXPECT_THAT(content.str(), HasSubstr("<polyline"));
  EXPECT_THAT(content.str(), HasSubstr("dead units"));

  auto [jobs_rc, jobs] =
      RunCommand(absl::StrCat(kActctl, " --server=", server_->address(), " jobs"));
  EXPECT_EQ(jobs_rc, 0);
  EXPECT_THAT(jobs, HasSubstr("xor-tanh"));
  auto [bad_rc, bad] = RunCommand(absl::StrCat(kActctl, " --server=", server_->address(),
                                               " train /dev/null/nope.textproto 2>&1"));
  EXPECT_EQ(bad_rc, 1) << bad;
}

TEST_F(TrainingTest, EveryExampleJobFileParses) {
  for (const char* name :
       {"xor.textproto", "two_spirals.textproto", "moons.json", "circles.textproto",
        "blobs.textproto", "sine.textproto", "deep_sigmoid.textproto"}) {
    absl::StatusOr<v1::JobSpec> spec =
        client::ReadJobSpec(absl::StrCat(kSourceDir, "/client/examples/", name));
    EXPECT_TRUE(spec.ok()) << name << ": " << spec.status();
  }
}

// A server with one worker and room for one queued job.
TEST(TrainingQueueTest, AFullQueueIsResourceExhaustedAndQueuedJobsCancelAtOnce) {
  auto server = ServerProcess::Start(
      kServer, {"--training_workers=1", "--max_queued_jobs=1", "--drain_deadline=1s"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = client::TrainingClient::Connect((*server)->address());
  absl::StatusOr<v1::Job> running = client->Submit(Long());
  ASSERT_TRUE(running.ok()) << running.status();
  // Wait until the worker has taken the first job off the queue.
  for (int i = 0; i < 500 && client->Get(running->id())->state() != v1::JOB_STATE_RUNNING; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::StatusOr<v1::Job> queued = client->Submit(Long());
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(queued->state(), v1::JOB_STATE_QUEUED);
  absl::StatusOr<v1::Job> refused = client->Submit(Long());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("the job queue is full"));
  v1::SubmitSweepRequest sweep;
  *sweep.mutable_spec() = Xor();
  sweep.add_activations()->set_activation("relu");
  EXPECT_EQ(client->SubmitSweep(sweep).status().code(), absl::StatusCode::kResourceExhausted);

  absl::StatusOr<v1::Job> c = client->Cancel(queued->id());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_FALSE(c->has_start_time());
  EXPECT_FALSE(c->has_result());
  // SIGTERM with a job still running: the drain deadline passes, the job is cancelled, and the
  // server still exits cleanly.
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(30)), 0) << (*server)->Stderr();
}

}  // namespace
}  // namespace actserve::testing
