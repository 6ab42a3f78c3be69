// End-to-end tests of the handler path (server/api/handler.h) on the real actserve binary: every
// rpc of both services is refused UNAVAILABLE while the server drains and counted as a
// rejection; every rpc that runs on the compute pool is refused RESOURCE_EXHAUSTED when the
// pool's queue is full and counted, while the inline ones are still served; and CancelJob holds
// no compute thread while it waits for a job's step to end. And, on the real services in this
// process with an admission rule of the test's own, every rpc asks admission, with its name,
// size and headers, and a refusal reaches the client and is counted.
#include <signal.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/lib/activation_client.h"
#include "client/lib/training_client.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"
#include "prometheus/text_serializer.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "proto/actserve/v1/training_service.grpc.pb.h"
#include "server/admission/admission.h"
#include "server/api/activation_service.h"
#include "server/api/handler.h"
#include "server/api/training_service.h"
#include "server/jobs/job_manager.h"
#include "server/metrics/metrics.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

constexpr char kServer[] = ACTSERVE_BINARY;
constexpr char kActivation[] = "actserve.v1.ActivationService";
constexpr char kTraining[] = "actserve.v1.TrainingService";

// One rpc, called with a request that would otherwise be answered (possibly with an error of
// its own): returns the status.
struct Rpc {
  const char* service;
  const char* method;
  std::function<grpc::Status()> call;
};

// A Forward request of `n` floats: above 64 KiB it is computed on the pool.
v1::ForwardRequest ForwardOf(int n) {
  v1::ForwardRequest r;
  r.set_activation("relu");
  r.mutable_x()->add_shape(n);
  r.mutable_x()->set_dtype(v1::DTYPE_FLOAT32);
  r.mutable_x()->mutable_float_data()->Resize(n, 1.0f);
  return r;
}

v1::BackwardRequest BackwardOf(int n) {
  v1::BackwardRequest r;
  r.set_activation("relu");
  *r.mutable_x() = ForwardOf(n).x();
  *r.mutable_dy() = r.x();
  return r;
}

v1::JobSpec SmallJob() {
  absl::StatusOr<v1::JobSpec> spec =
      client::ParseJobSpec(R"pb(
                             layers { units: 4 activation: "tanh" }
                             layers { units: 2 activation: "identity" }
                             loss: LOSS_SOFTMAX_CROSS_ENTROPY
                             optimizer { learning_rate: 0.1 }
                             epochs: 1
                             data { generated { name: "xor" rows: 64 } }
                           )pb",
                           /*json=*/false);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::JobSpec();
}

// A job whose every step takes about a second or more: 8192 rows through two layers of 1024
// units, one batch per step.
v1::JobSpec SlowStepJob() {
  absl::StatusOr<v1::JobSpec> spec =
      client::ParseJobSpec(R"pb(
                             name: "slow steps"
                             layers { units: 1024 activation: "relu" }
                             layers { units: 1024 activation: "relu" }
                             layers { units: 2 activation: "identity" }
                             loss: LOSS_SOFTMAX_CROSS_ENTROPY
                             optimizer { learning_rate: 0.001 }
                             batch_size: 8192
                             epochs: 1000
                             data { generated { name: "moons" rows: 8192 seed: 1 } }
                           )pb",
                           /*json=*/false);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::JobSpec();
}

// Every rpc of both services, with `large` requests (computed on the pool) for the activation
// rpcs that place by size.
std::vector<Rpc> EveryRpc(const std::string& address, bool large) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  std::shared_ptr<v1::ActivationService::Stub> act = v1::ActivationService::NewStub(channel);
  std::shared_ptr<v1::TrainingService::Stub> train = v1::TrainingService::NewStub(channel);
  const int n = large ? 1 << 16 : 4;
  auto unary = [](auto call) {
    return [call] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      return call(&context);
    };
  };
  return {
      {kActivation, "ListActivations", unary([act](grpc::ClientContext* c) {
         v1::ListActivationsResponse r;
         return act->ListActivations(c, {}, &r);
       })},
      {kActivation, "Forward", unary([act, n](grpc::ClientContext* c) {
         v1::ForwardResponse r;
         return act->Forward(c, ForwardOf(n), &r);
       })},
      {kActivation, "Backward", unary([act, n](grpc::ClientContext* c) {
         v1::BackwardResponse r;
         return act->Backward(c, BackwardOf(n), &r);
       })},
      {kActivation, "Evaluate", unary([act, n](grpc::ClientContext* c) -> grpc::Status {
         auto stream = act->Evaluate(c);
         v1::EvaluateRequest request;
         *request.mutable_forward() = ForwardOf(n);
         v1::EvaluateResponse response;
         if (stream->Write(request) && stream->Read(&response) && response.has_error()) {
           // An in-band refusal: report it as the call's status.
           stream->WritesDone();
           stream->Finish().ok();
           return grpc::Status(static_cast<grpc::StatusCode>(response.error().code()),
                               response.error().message());
         }
         stream->WritesDone();
         while (stream->Read(&response)) {
         }
         return stream->Finish();
       })},
      {kTraining, "SubmitJob", unary([train](grpc::ClientContext* c) {
         v1::SubmitJobRequest request;
         *request.mutable_spec() = SmallJob();
         v1::Job r;
         return train->SubmitJob(c, request, &r);
       })},
      {kTraining, "WatchJob", unary([train](grpc::ClientContext* c) {
         v1::WatchJobRequest request;
         request.set_id("job-999");
         auto reader = train->WatchJob(c, request);
         v1::WatchJobResponse r;
         while (reader->Read(&r)) {
         }
         return reader->Finish();
       })},
      {kTraining, "GetJob", unary([train](grpc::ClientContext* c) {
         v1::GetJobRequest request;
         request.set_id("job-999");
         v1::Job r;
         return train->GetJob(c, request, &r);
       })},
      {kTraining, "ListJobs", unary([train](grpc::ClientContext* c) {
         v1::ListJobsResponse r;
         return train->ListJobs(c, {}, &r);
       })},
      {kTraining, "CancelJob", unary([train](grpc::ClientContext* c) {
         v1::CancelJobRequest request;
         request.set_id("job-999");
         v1::Job r;
         return train->CancelJob(c, request, &r);
       })},
      {kTraining, "DeleteJob", unary([train](grpc::ClientContext* c) {
         v1::DeleteJobRequest request;
         request.set_id("job-999");
         v1::DeleteJobResponse r;
         return train->DeleteJob(c, request, &r);
       })},
      {kTraining, "Predict", unary([train](grpc::ClientContext* c) {
         v1::PredictRequest request;
         request.set_job_id("job-999");
         v1::PredictResponse r;
         return train->Predict(c, request, &r);
       })},
      {kTraining, "SubmitSweep", unary([train](grpc::ClientContext* c) {
         v1::SubmitSweepRequest request;
         *request.mutable_spec() = SmallJob();
         request.add_activations()->set_activation("relu");
         v1::Sweep r;
         return train->SubmitSweep(c, request, &r);
       })},
      {kTraining, "GetSweep", unary([train](grpc::ClientContext* c) {
         v1::GetSweepRequest request;
         request.set_id("sweep-999");
         v1::Sweep r;
         return train->GetSweep(c, request, &r);
       })},
  };
}

double Rejections(const std::string& scrape, const Rpc& rpc, const char* reason) {
  return MetricValue(
      scrape, absl::StrCat("actserve_rejections_total{grpc_method=\"", rpc.method,
                           "\",grpc_service=\"", rpc.service, "\",reason=\"", reason, "\"}"));
}

std::string Scrape(const ServerProcess& server) {
  auto [rc, text] = RunCommand("curl -sf " + server.metrics_url());
  EXPECT_EQ(rc, 0);
  return text;
}

TEST(HandlerPathTest, WhileDrainingEveryRpcIsUnavailableAndCountedAsARejection) {
  // A running job keeps the drain going (up to its deadline) while the calls are made.
  auto server = ServerProcess::Start(kServer, {"--drain_deadline=4s", "--training_workers=1"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto jobs = client::TrainingClient::Connect((*server)->address());
  absl::StatusOr<v1::Job> job = jobs->Submit(SlowStepJob());
  ASSERT_TRUE(job.ok()) << job.status();
  const std::vector<Rpc> rpcs = EveryRpc((*server)->address(), /*large=*/false);
  // Serving: nothing is refused.
  for (const Rpc& rpc : rpcs) {
    EXPECT_NE(rpc.call().error_code(), grpc::StatusCode::UNAVAILABLE) << rpc.method;
  }
  kill((*server)->pid(), SIGTERM);
  // The drain begins when the server reads the signal: wait until it refuses.
  for (int i = 0; i < 200 && rpcs[0].call().ok(); ++i) absl::SleepFor(absl::Milliseconds(5));
  for (const Rpc& rpc : rpcs) {
    grpc::Status s = rpc.call();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
        << rpc.method << ": " << s.error_message();
  }
  // The refusals tell a retrying client to wait out the lame duck: with a retry policy of
  // 10 ms backoff, the second attempt comes no sooner than the pushback (kRetryMargin at least,
  // the running job holding the drain past the lame duck) and is refused again.
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(R"({"methodConfig": [{"name": [{}], "retryPolicy": {
      "maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
      "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
  auto retrying = v1::ActivationService::NewStub(
      grpc::CreateCustomChannel((*server)->address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  v1::ListActivationsResponse listed;
  const double refused_before = Rejections(Scrape(**server), rpcs[0], "draining");
  const absl::Time start = absl::Now();
  grpc::Status retried = retrying->ListActivations(&context, v1::ListActivationsRequest(), &listed);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(retried.error_code(), grpc::StatusCode::UNAVAILABLE) << retried.error_message();
  EXPECT_GE(took, server::CallTracker::kRetryMargin - absl::Milliseconds(20));

  const std::string text = Scrape(**server);
  EXPECT_EQ(Rejections(text, rpcs[0], "draining") - refused_before, 2) << "not retried once";
  for (const Rpc& rpc : rpcs) {
    // ListActivations was also called while waiting for the drain to begin.
    EXPECT_GE(Rejections(text, rpc, "draining"), 1) << rpc.method;
    if (&rpc != &rpcs[0]) {
      EXPECT_EQ(Rejections(text, rpc, "draining"), 1) << rpc.method;
    }
    EXPECT_EQ(Rejections(text, rpc, "busy"), 0) << rpc.method;
  }
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(30)), 0) << (*server)->Stderr();
}

TEST(HandlerPathTest, AFullComputeQueueRefusesPoolWorkOfEveryRpcAndCountsIt) {
  // No room in the queue: every rpc placed on the pool is refused; inline ones are served.
  auto server = ServerProcess::Start(kServer, {"--max_queued=0"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::vector<Rpc> rpcs = EveryRpc((*server)->address(), /*large=*/true);
  const std::set<std::string> pooled = {"Forward",   "Backward", "Evaluate",
                                        "SubmitJob", "Predict",  "SubmitSweep"};
  for (const Rpc& rpc : rpcs) {
    grpc::Status s = rpc.call();
    if (pooled.count(rpc.method)) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << rpc.method << ": " << s.error_message();
      EXPECT_THAT(s.error_message(), ::testing::HasSubstr("server busy"));
    } else {
      EXPECT_NE(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << rpc.method;
    }
  }
  const std::string text = Scrape(**server);
  for (const Rpc& rpc : rpcs) {
    EXPECT_EQ(Rejections(text, rpc, "busy"), pooled.count(rpc.method) ? 1 : 0) << rpc.method;
    EXPECT_EQ(Rejections(text, rpc, "draining"), 0) << rpc.method;
  }
  EXPECT_EQ(MetricValue(text, "actserve_compute_rejections_total"), pooled.size());
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(20)), 0) << (*server)->Stderr();
}

// With one compute thread, a CancelJob that waits for a long step to end must not keep a
// Forward computed on the pool waiting: the Forward is answered first.
TEST(HandlerPathTest, CancelJobWaitingForAStepHoldsNoComputeThread) {
  auto server = ServerProcess::Start(kServer, {"--compute_threads=1", "--training_workers=1"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto jobs = client::TrainingClient::Connect((*server)->address());
  absl::StatusOr<v1::Job> job = jobs->Submit(SlowStepJob());
  ASSERT_TRUE(job.ok()) << job.status();
  // Cancel just after a step ends (each step is an epoch and reports), so that the cancel waits
  // for a whole step, not for the tail of one that may end before the Forward arrives.
  absl::Notification first_report;
  std::thread watcher([&] {
    (void)jobs->Watch(job->id(), 0, [&](const v1::Progress&) {
      if (!first_report.HasBeenNotified()) first_report.Notify();
    });
  });
  ASSERT_TRUE(first_report.WaitForNotificationWithTimeout(absl::Seconds(60)));

  std::atomic<int64_t> cancelled_ns{0};
  absl::StatusOr<v1::Job> cancelled;
  std::thread canceller([&] {
    cancelled = jobs->Cancel(job->id());
    cancelled_ns = absl::GetCurrentTimeNanos();
  });
  absl::SleepFor(absl::Milliseconds(20));
  auto activations = client::ActivationClient::Connect((*server)->address());
  const std::vector<float> x(1 << 16, 1.0f);  // 256 KiB: computed on the pool
  absl::Status forward = activations->Forward("relu", {1 << 16}, x).status();
  const int64_t forward_ns = absl::GetCurrentTimeNanos();
  canceller.join();
  watcher.join();
  ASSERT_TRUE(forward.ok()) << forward;
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_LT(forward_ns, cancelled_ns.load())
      << "the Forward waited for the CancelJob: the cancel held the only compute thread";
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(30)), 0) << (*server)->Stderr();
}

// Refuses every call that carries the header "x-tenant: blocked", and records what it saw.
class TenantRule final : public server::Admission {
 public:
  absl::StatusOr<std::unique_ptr<Grant>> Admit(const server::CallInfo& call) override {
    absl::MutexLock lock(&mu_);
    seen_.insert(std::string(call.method));
    if (call.method == "Forward") forward_bytes_ = call.request_bytes;
    if (call.header("x-tenant") == std::optional<absl::string_view>("blocked")) {
      return absl::PermissionDeniedError("tenant blocked is not admitted");
    }
    return nullptr;
  }
  std::set<std::string> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  int64_t forward_bytes() {
    absl::MutexLock lock(&mu_);
    return forward_bytes_;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  int64_t forward_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(HandlerPathTest, EveryRpcAsksAdmissionAndARefusalReachesTheClientAndIsCounted) {
  std::unique_ptr<Backend> cpu = NewCpuBackend({.threads = 1});
  const server::Backends backends{.cpu = cpu.get()};
  server::Metrics metrics;
  server::ComputePool pool(2, 16);
  server::CallTracker calls;
  TenantRule rule;
  server::Handler handler(pool, calls, rule, &metrics);
  server::JobManager jobs({.workers = 1}, &metrics);
  server::ActivationServiceImpl activation(backends, handler, {}, &metrics);
  const server::auth::CallGuard guard(nullptr);  // no tokens: every caller is an admin
  server::TrainingServiceImpl training(jobs, handler, backends, {}, guard);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&activation);
  builder.RegisterService(&training);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  ASSERT_NE(grpc_server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", port);

  // Admitted: served as usual (whatever their own answer), with what admission needs to know.
  for (const Rpc& rpc : EveryRpc(address, /*large=*/false)) {
    EXPECT_NE(rpc.call().error_code(), grpc::StatusCode::PERMISSION_DENIED) << rpc.method;
  }
  std::set<std::string> seen = rule.seen();
  for (const Rpc& rpc : EveryRpc(address, false)) EXPECT_TRUE(seen.count(rpc.method)) << rpc.method;
  EXPECT_GT(rule.forward_bytes(), 16);  // the serialized request

  // Refused: the client gets admission's status, and the refusal is counted by method.
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::TrainingService::NewStub(channel);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    context.AddMetadata("x-tenant", "blocked");
    v1::ListJobsResponse response;
    grpc::Status s = stub->ListJobs(&context, {}, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(), "tenant blocked is not admitted");
  }
  grpc::ClientContext watch_context;
  watch_context.AddMetadata("x-tenant", "blocked");
  auto watch = stub->WatchJob(&watch_context, {});
  v1::WatchJobResponse update;
  EXPECT_FALSE(watch->Read(&update));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : metrics.Collectables()) {
    auto f = c->Collect();
    families.insert(families.end(), f.begin(), f.end());
  }
  const std::string text = prometheus::TextSerializer().Serialize(families);
  EXPECT_EQ(MetricValue(text,
                        "actserve_rejections_total{grpc_method=\"ListJobs\",grpc_service="
                        "\"actserve.v1.TrainingService\",reason=\"admission\"}"),
            2);
  EXPECT_EQ(MetricValue(text,
                        "actserve_rejections_total{grpc_method=\"WatchJob\",grpc_service="
                        "\"actserve.v1.TrainingService\",reason=\"admission\"}"),
            1);
  EXPECT_EQ(MetricValue(text,
                        "actserve_rejections_total{grpc_method=\"GetJob\",grpc_service="
                        "\"actserve.v1.TrainingService\",reason=\"admission\"}"),
            0);
  calls.StartDraining();
  EXPECT_TRUE(calls.WaitUntilIdle(absl::Now() + absl::Seconds(10)));
  grpc_server->Shutdown();
}

}  // namespace
}  // namespace actserve::testing
