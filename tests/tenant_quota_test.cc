// Per-tenant quotas end to end on the real actserve binary, with two tenants: one greedy, one
// modest. While the greedy tenant is over its rate, calls-in-flight, bytes or jobs quota, its
// calls are refused with RESOURCE_EXHAUSTED (a google.rpc.RetryInfo in the status details when
// waiting helps) and the modest tenant's calls all succeed; /metrics counts both per tenant.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "proto/actserve/v1/training_service.grpc.pb.h"
#include "proto/google/rpc/status.pb.h"
#include "server/auth/test_pki.h"
#include "server/auth/token_digest.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

using ::actserve::server::auth::DigestToHex;
using ::actserve::server::auth::DigestToken;
using ::actserve::server::auth::ReadFileForTest;
using ::actserve::server::auth::ReplaceFileForTest;
using ::testing::HasSubstr;

constexpr char kServer[] = ACTSERVE_BINARY;

std::string TokenLine(const std::string& token, const std::string& tenant) {
  return absl::StrCat("sha256:", DigestToHex(DigestToken(token)), " ", tenant, " compute,train\n");
}

void Prepare(grpc::ClientContext* c, const std::string& token) {
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  c->AddMetadata("authorization", "Bearer " + token);
}

// The RetryInfo delay in `status`'s details, in seconds; -1 without one.
double RetryDelaySeconds(const grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return -1;
  }
  EXPECT_EQ(details.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(details.message(), status.error_message());
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      return static_cast<double>(retry.retry_delay().seconds()) + retry.retry_delay().nanos() / 1e9;
    }
  }
  return -1;
}

// The value of the sample `series` (name and labels as the exposition writes them) in the
// Prometheus text `metrics`, or "absent".
std::string Sample(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return "absent";
  const size_t start = at + series.size() + 2;
  return metrics.substr(start, metrics.find('\n', start) - start);
}

class TenantQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/actserve-quota-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ASSERT_TRUE(ReplaceFileForTest(dir_ + "/tokens", absl::StrCat(TokenLine("greedy", "greedy"),
                                                                  TokenLine("modest", "modest")))
                    .ok());
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void StartServer(std::vector<std::string> flags) {
    flags.push_back("--tokens_file=" + dir_ + "/tokens");
    auto server = ServerProcess::Start(kServer, flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    act_ = v1::ActivationService::NewStub(channel);
    train_ = v1::TrainingService::NewStub(channel);
  }

  grpc::Status Forward(const std::string& token, int elements = 16) {
    v1::ForwardRequest request;
    request.set_activation("relu");
    request.mutable_x()->add_shape(elements);
    request.mutable_x()->set_dtype(v1::DTYPE_FLOAT32);
    request.mutable_x()->mutable_float_data()->Resize(elements, 0.5f);
    v1::ForwardResponse response;
    grpc::ClientContext c;
    Prepare(&c, token);
    return act_->Forward(&c, request, &response);
  }

  // Submits a job that trains for minutes (it is cancelled by the test).
  grpc::Status SubmitLongJob(const std::string& token, v1::Job* job) {
    v1::SubmitJobRequest submit;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        ReadFileForTest(ACTSERVE_SOURCE_DIR "/client/examples/xor.textproto"),
        submit.mutable_spec()));
    // Wide hidden layers and many epochs: milliseconds per step, hours in all.
    v1::JobSpec& spec = *submit.mutable_spec();
    spec.set_epochs(100000);
    spec.set_batch_size(64);
    spec.mutable_layers(0)->set_units(512);
    *spec.mutable_layers()->Add() = spec.layers(0);
    spec.mutable_layers()->SwapElements(1, 2);
    grpc::ClientContext c;
    Prepare(&c, token);
    return train_->SubmitJob(&c, submit, job);
  }

  grpc::Status Cancel(const std::string& token, const std::string& id) {
    v1::CancelJobRequest request;
    request.set_id(id);
    v1::Job job;
    grpc::ClientContext c;
    Prepare(&c, token);
    return train_->CancelJob(&c, request, &job);
  }

  std::string Scrape() {
    auto [rc, text] = RunCommand("curl -sf " + server_->metrics_url());
    EXPECT_EQ(rc, 0);
    return text;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ActivationService::Stub> act_;
  std::unique_ptr<v1::TrainingService::Stub> train_;
};

TEST_F(TenantQuotaTest, OverItsRateOnlyTheGreedyTenantIsRefusedWithARetryDelay) {
  StartServer({"--tenant_rps=10", "--tenant_burst=5"});
  int greedy_ok = 0, greedy_refused = 0, modest_ok = 0;
  for (int i = 0; i < 60; ++i) {
    const grpc::Status s = Forward("greedy");
    if (s.ok()) {
      ++greedy_ok;
    } else {
      ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("tenant 'greedy'"));
      EXPECT_THAT(s.error_message(), HasSubstr("--tenant_rps"));
      const double delay = RetryDelaySeconds(s);
      EXPECT_GT(delay, 0) << "a RetryInfo with the wait for the next token";
      EXPECT_LE(delay, 0.1 + 1e-9) << "one token at 10/s";
      ++greedy_refused;
    }
    // The modest tenant calls 4 times in the same period, within its own burst.
    if (i % 15 == 0) {
      const grpc::Status m = Forward("modest");
      EXPECT_TRUE(m.ok()) << m.error_message();
      modest_ok += m.ok();
    }
  }
  EXPECT_EQ(modest_ok, 4);
  EXPECT_GE(greedy_ok, 5) << "the burst";
  EXPECT_GE(greedy_refused, 30);
  // Waiting as told works.
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_TRUE(Forward("greedy").ok());

  const std::string metrics = Scrape();
  EXPECT_EQ(Sample(metrics, "actserve_tenant_rejections_total{tenant=\"greedy\",reason=\"rate\"}"),
            absl::StrCat(greedy_refused));
  EXPECT_EQ(Sample(metrics, "actserve_tenant_rejections_total{tenant=\"modest\",reason=\"rate\"}"),
            "0");
  EXPECT_EQ(Sample(metrics, "actserve_tenant_requests_total{tenant=\"modest\"}"), "4");
  EXPECT_NE(Sample(metrics, "actserve_tenant_request_bytes_total{tenant=\"modest\"}"), "0");
}

TEST_F(TenantQuotaTest, BytesCallsAndJobsQuotasLeaveTheOtherTenantItsShare) {
  StartServer({"--tenant_max_bytes=100000", "--tenant_max_calls=2", "--tenant_max_jobs=2",
               "--training_workers=1"});
  // A request larger than the bytes quota can never pass: no retry delay.
  const grpc::Status big = Forward("greedy", 64 << 10);
  ASSERT_EQ(big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << big.error_message();
  EXPECT_THAT(big.error_message(), HasSubstr("--tenant_max_bytes"));
  EXPECT_EQ(RetryDelaySeconds(big), -1);
  EXPECT_TRUE(Forward("modest", 1024).ok());

  // A call's place is released once the server sees the call end, just after its client does
  // (each call's here): retried while the tenant's places are still held.
  auto once_placed = [](const std::function<grpc::Status()>& call) {
    grpc::Status s;
    for (int i = 0; i < 100; ++i) {
      s = call();
      if (!absl::StrContains(s.error_message(), "--tenant_max_calls")) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return s;
  };
  // Jobs: two queued or running, then refused until one ends.
  v1::Job a, b, c, m;
  ASSERT_TRUE(once_placed([&] { return SubmitLongJob("greedy", &a); }).ok());
  ASSERT_TRUE(once_placed([&] { return SubmitLongJob("greedy", &b); }).ok());
  const grpc::Status third = once_placed([&] { return SubmitLongJob("greedy", &c); });
  ASSERT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
  EXPECT_THAT(third.error_message(), HasSubstr("--tenant_max_jobs"));
  const grpc::Status modest_job = SubmitLongJob("modest", &m);
  EXPECT_TRUE(modest_job.ok()) << modest_job.error_message();

  // Calls in flight: two WatchJob streams hold the greedy tenant's two places.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchJobResponse>>> watches;
  for (const v1::Job* job : {&a, &a}) {  // the running job: its reports come at once
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    Prepare(contexts.back().get(), "greedy");
    v1::WatchJobRequest request;
    request.set_id(job->id());
    watches.push_back(train_->WatchJob(contexts.back().get(), request));
    v1::WatchJobResponse first;
    ASSERT_TRUE(watches.back()->Read(&first)) << "the stream is open";
  }
  const grpc::Status busy = Forward("greedy");
  ASSERT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << busy.error_message();
  EXPECT_THAT(busy.error_message(), HasSubstr("--tenant_max_calls"));
  EXPECT_GT(RetryDelaySeconds(busy), 0);
  EXPECT_TRUE(Forward("modest").ok());

  // Ending the watches and a job frees the places.
  for (auto& context : contexts) context->TryCancel();
  for (auto& watch : watches) {
    v1::WatchJobResponse r;
    while (watch->Read(&r)) {
    }
    watch->Finish();
  }
  const grpc::Status after = once_placed([&] { return Forward("greedy"); });
  EXPECT_TRUE(after.ok()) << after.error_message();
  const grpc::Status cancelled = once_placed([&] { return Cancel("greedy", a.id()); });
  ASSERT_TRUE(cancelled.ok()) << cancelled.error_message();
  const grpc::Status again = once_placed([&] { return SubmitLongJob("greedy", &c); });
  EXPECT_TRUE(again.ok()) << again.error_message();

  const std::string metrics = Scrape();
  auto rejections = [&metrics](const std::string& tenant, const std::string& reason) {
    return Sample(metrics, absl::StrCat("actserve_tenant_rejections_total{tenant=\"", tenant,
                                        "\",reason=\"", reason, "\"}"));
  };
  EXPECT_EQ(rejections("greedy", "jobs"), "1");
  EXPECT_EQ(rejections("greedy", "bytes"), "1");
  EXPECT_NE(rejections("greedy", "calls"), "0");
  EXPECT_EQ(rejections("modest", "calls"), "0");
  EXPECT_EQ(rejections("modest", "bytes"), "0");
  for (const v1::Job* job : {&b, &c, &m}) {
    Cancel(job == &m ? "modest" : "greedy", job->id());
  }
}

// CancelJob answers once a running job has ended, and by then the job has left its tenant's
// count: the tenant's only place can be taken again at once, round after round.
TEST_F(TenantQuotaTest, ACancelledJobsPlaceIsFreeWhenCancelJobAnswers) {
  StartServer({"--tenant_max_jobs=1", "--training_workers=1"});
  v1::Job job;
  ASSERT_TRUE(SubmitLongJob("greedy", &job).ok());
  for (int round = 0; round < 10; ++round) {
    v1::Job seen;
    for (int i = 0; i < 500 && seen.state() != v1::JOB_STATE_RUNNING; ++i) {
      v1::GetJobRequest request;
      request.set_id(job.id());
      grpc::ClientContext c;
      Prepare(&c, "greedy");
      ASSERT_TRUE(train_->GetJob(&c, request, &seen).ok());
      if (seen.state() != v1::JOB_STATE_RUNNING) absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_EQ(seen.state(), v1::JOB_STATE_RUNNING) << "round " << round;
    ASSERT_TRUE(Cancel("greedy", job.id()).ok()) << "round " << round;
    const grpc::Status next = SubmitLongJob("greedy", &job);
    ASSERT_TRUE(next.ok()) << "round " << round << ": " << next.error_message();
  }
  EXPECT_TRUE(Cancel("greedy", job.id()).ok());
}

TEST_F(TenantQuotaTest, ByDefaultOneTenantHasHalfTheJobQueue) {
  StartServer({"--max_queued_jobs=8", "--training_workers=1"});
  std::vector<v1::Job> jobs;
  grpc::Status s;
  for (int i = 0; i < 8 && s.ok(); ++i) {
    v1::Job job;
    s = SubmitLongJob("greedy", &job);
    if (s.ok()) jobs.push_back(job);
  }
  EXPECT_EQ(jobs.size(), 4u) << "half of --max_queued_jobs by default";
  EXPECT_THAT(s.error_message(), HasSubstr("--tenant_max_jobs"));
  v1::Job modest;
  EXPECT_TRUE(SubmitLongJob("modest", &modest).ok()) << "the queue still has room for others";
  for (const v1::Job& job : jobs) Cancel("greedy", job.id());
  Cancel("modest", modest.id());
}

}  // namespace
}  // namespace actserve::testing
