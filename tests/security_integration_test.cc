// Security end to end on the real actserve binary: the loopback-only default and --insecure
// (and its metric);
// every role against every rpc; tokens and certificates rotated on disk while calls run, with
// no failed call; TLS and mTLS handshakes from C++ clients. Certificates are made by openssl in
// the test (server/auth/test_pki.h).
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "proto/actserve/v1/training_service.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "server/auth/call_loop.h"
#include "server/auth/test_pki.h"
#include "server/auth/token_digest.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

using ::actserve::server::auth::CallLoop;
using ::actserve::server::auth::DigestToHex;
using ::actserve::server::auth::DigestToken;
using ::actserve::server::auth::ReadFileForTest;
using ::actserve::server::auth::ReplaceFileForTest;
using ::actserve::server::auth::TestPki;
using ::testing::HasSubstr;

constexpr char kServer[] = ACTSERVE_BINARY;

std::string TokenLine(const std::string& token, const std::string& tenant,
                      const std::string& roles) {
  return absl::StrCat("sha256:", DigestToHex(DigestToken(token)), " ", tenant, " ", roles, "\n");
}

// A context with a 10 s deadline and, unless empty, `authorization: Bearer <token>`.
void Prepare(grpc::ClientContext* c, const std::string& token) {
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
}

// One rpc called with a minimal request and a token: its status (an error of the request's own,
// such as NOT_FOUND, shows that authentication and authorization let it through).
using RpcCall = std::function<grpc::Status(const std::string& token)>;

// Every rpc of both services, by full method name.
std::map<std::string, RpcCall> EveryRpc(std::shared_ptr<grpc::Channel> channel) {
  std::shared_ptr<v1::ActivationService::Stub> act = v1::ActivationService::NewStub(channel);
  std::shared_ptr<v1::TrainingService::Stub> train = v1::TrainingService::NewStub(channel);
  // Each call has its own response: a test may call one RpcCall from several threads at once.
  auto unary = [](auto stub, auto method, auto request, auto response) -> RpcCall {
    return [=](const std::string& token) {
      grpc::ClientContext c;
      Prepare(&c, token);
      auto out = response;
      return ((*stub).*method)(&c, request, &out);
    };
  };
  using A = v1::ActivationService::Stub;
  using T = v1::TrainingService::Stub;
  v1::ForwardRequest forward;
  forward.set_activation("relu");
  forward.mutable_x()->add_shape(1);
  forward.mutable_x()->set_dtype(v1::DTYPE_FLOAT32);
  forward.mutable_x()->add_float_data(1.0f);
  v1::GetJobRequest get;
  get.set_id("job-999");
  v1::CancelJobRequest cancel;
  cancel.set_id("job-999");
  v1::DeleteJobRequest del;
  del.set_id("job-999");
  v1::PredictRequest predict;
  predict.set_job_id("job-999");
  v1::GetSweepRequest sweep;
  sweep.set_id("sweep-999");
  const std::string a = "/actserve.v1.ActivationService/", t = "/actserve.v1.TrainingService/";
  return {
      {a + "ListActivations", unary(act, &A::ListActivations, v1::ListActivationsRequest(),
                                    v1::ListActivationsResponse())},
      {a + "Forward", unary(act, &A::Forward, forward, v1::ForwardResponse())},
      {a + "Backward", unary(act, &A::Backward, v1::BackwardRequest(), v1::BackwardResponse())},
      {a + "Evaluate",
       [act, forward](const std::string& token) {
         grpc::ClientContext c;
         Prepare(&c, token);
         auto stream = act->Evaluate(&c);
         v1::EvaluateRequest request;
         *request.mutable_forward() = forward;
         v1::EvaluateResponse response;
         stream->Write(request);
         stream->WritesDone();
         grpc::Status in_band;
         while (stream->Read(&response)) {
           if (response.has_error()) {
             in_band = grpc::Status(static_cast<grpc::StatusCode>(response.error().code()),
                                    response.error().message());
           }
         }
         grpc::Status status = stream->Finish();
         return status.ok() ? in_band : status;
       }},
      {t + "SubmitJob", unary(train, &T::SubmitJob, v1::SubmitJobRequest(), v1::Job())},
      {t + "WatchJob",
       [train](const std::string& token) {
         grpc::ClientContext c;
         Prepare(&c, token);
         v1::WatchJobRequest request;
         request.set_id("job-999");
         auto reader = train->WatchJob(&c, request);
         v1::WatchJobResponse r;
         while (reader->Read(&r)) {
         }
         return reader->Finish();
       }},
      {t + "GetJob", unary(train, &T::GetJob, get, v1::Job())},
      {t + "ListJobs", unary(train, &T::ListJobs, v1::ListJobsRequest(), v1::ListJobsResponse())},
      {t + "CancelJob", unary(train, &T::CancelJob, cancel, v1::Job())},
      {t + "DeleteJob", unary(train, &T::DeleteJob, del, v1::DeleteJobResponse())},
      {t + "Predict", unary(train, &T::Predict, predict, v1::PredictResponse())},
      {t + "SubmitSweep", unary(train, &T::SubmitSweep, v1::SubmitSweepRequest(), v1::Sweep())},
      {t + "GetSweep", unary(train, &T::GetSweep, sweep, v1::Sweep())},
  };
}

// Every rpc's full name, from the services' descriptors.
std::set<std::string> DescribedRpcs() {
  std::set<std::string> names;
  for (const auto* file :
       {v1::ForwardRequest::descriptor()->file(), v1::SubmitJobRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        names.insert(absl::StrCat("/", file->service(s)->full_name(), "/",
                                  file->service(s)->method(m)->name()));
      }
    }
  }
  return names;
}

bool IsAuthRefusal(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

grpc::Status HealthCheck(std::shared_ptr<grpc::Channel> channel) {
  grpc::ClientContext c;
  Prepare(&c, "");
  grpc::health::v1::HealthCheckResponse r;
  return grpc::health::v1::Health::NewStub(channel)->Check(&c, {}, &r);
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestPki>> pki = TestPki::Create();
    if (!pki.ok()) GTEST_SKIP() << "no usable openssl command: " << pki.status();
    pki_ = *std::move(pki);
    tokens_ = pki_->dir() + "/tokens";
  }

  std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                            const std::string& client = "") {
    grpc::SslCredentialsOptions ssl{.pem_root_certs = ReadFileForTest(pki_->pem("ca"))};
    if (!client.empty()) {
      ssl.pem_private_key = ReadFileForTest(pki_->key(client));
      ssl.pem_cert_chain = ReadFileForTest(pki_->pem(client));
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
  }

  std::unique_ptr<TestPki> pki_;
  std::string tokens_;
};

TEST_F(SecurityTest, ServesOnlyLoopbackWithoutCredentialsUnlessInsecure) {
  auto refused = ServerProcess::Start(kServer, {"--address=0.0.0.0:0"});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("refusing to serve on 0.0.0.0:0"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--insecure"));

  ASSERT_TRUE(ReplaceFileForTest(tokens_, TokenLine("t", "a", "compute")).ok());
  auto tokens_only =
      ServerProcess::Start(kServer, {"--address=0.0.0.0:0", "--tokens_file=" + tokens_});
  ASSERT_FALSE(tokens_only.ok()) << "tokens in plaintext are not enough";
  EXPECT_THAT(tokens_only.status().message(), HasSubstr("--tls_cert and --tls_key"));

  auto insecure = ServerProcess::Start(kServer, {"--address=0.0.0.0:0", "--insecure"});
  ASSERT_TRUE(insecure.ok()) << insecure.status();
  EXPECT_THAT((*insecure)->Stderr(), HasSubstr("INSECURE"));
  auto [rc, text] = RunCommand("curl -sf " + (*insecure)->metrics_url());
  EXPECT_THAT(text, HasSubstr("\nactserve_insecure 1\n"));

  ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
  auto secured = ServerProcess::Start(
      kServer, {"--address=0.0.0.0:0", "--tls_cert=" + pki_->pem("server"),
                "--tls_key=" + pki_->key("server"), "--tokens_file=" + tokens_});
  ASSERT_TRUE(secured.ok()) << secured.status();
  EXPECT_THAT((*secured)->Stderr(), ::testing::Not(HasSubstr("INSECURE")));
  std::tie(rc, text) = RunCommand("curl -sf " + (*secured)->metrics_url());
  EXPECT_THAT(text, HasSubstr("\nactserve_insecure 0\n"));
}

TEST_F(SecurityTest, RefusesToStartWithBrokenCredentialFiles) {
  ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
  ASSERT_TRUE(pki_->Issue("other", "other").ok());
  ASSERT_TRUE(ReplaceFileForTest(tokens_, "sha256:123 a compute\n").ok());
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  } cases[] = {
      {{"--tokens_file=" + tokens_}, "line 1: a SHA-256 digest has 64 hex digits"},
      {{"--tokens_file=/nonexistent"}, "cannot read tokens file /nonexistent"},
      {{"--tls_cert=" + pki_->pem("server")}, "go together"},
      {{"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("other")},
       "is not the key of the certificate"},
      {{"--tls_cert=/nonexistent.pem", "--tls_key=" + pki_->key("server")},
       "--tls_cert=/nonexistent.pem cannot be read"},
  };
  for (const Case& c : cases) {
    auto server = ServerProcess::Start(kServer, c.args);
    ASSERT_FALSE(server.ok()) << c.expected;
    EXPECT_THAT(server.status().message(), HasSubstr(c.expected));
  }
}

TEST_F(SecurityTest, MetricsOverHttpsWithTheServersCertificate) {
  ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
  auto server = ServerProcess::Start(
      kServer,
      {"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("server"), "--metrics_tls"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url = (*server)->metrics_url();
  ASSERT_EQ(url.substr(0, 8), "https://") << url;
  auto [rc, text] = RunCommand("curl -sf --cacert " + pki_->pem("ca") + " " + url);
  EXPECT_EQ(rc, 0) << url;
  EXPECT_THAT(text, HasSubstr("\nactserve_insecure 0\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{"));
  std::tie(rc, text) = RunCommand("curl -sf --max-time 5 " + url);
  EXPECT_NE(rc, 0) << "a client that does not trust the CA";
  std::tie(rc, text) = RunCommand("curl -sf --max-time 5 http" + url.substr(5));
  EXPECT_NE(rc, 0) << "plain HTTP on the HTTPS port";
  std::tie(rc, text) = RunCommand("curl -sf --max-time 5 --tlsv1.0 --tls-max 1.1 --cacert " +
                                  pki_->pem("ca") + " " + url);
  EXPECT_NE(rc, 0) << "TLS 1.1";
  std::tie(rc, text) = RunCommand("curl -s --cacert " + pki_->pem("ca") + " " +
                                  url.substr(0, url.size() - 8) + "/other");
  EXPECT_THAT(text, HasSubstr("only /metrics is served"));
  std::tie(rc, text) = RunCommand("curl -sf --cacert " + pki_->pem("ca") + " " + url);
  EXPECT_EQ(rc, 0) << "still serving";
  // 30 connections that never start their handshake do not hold up a scrape.
  const std::string port = url.substr(url.rfind(':') + 1, url.size() - url.rfind(':') - 9);
  std::tie(rc, text) = RunCommand(absl::StrCat(
      "bash -c 'for i in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/", port,
      "; sleep 5) 2>/dev/null & done; sleep 0.5; curl -sf --max-time 1 --cacert ", pki_->pem("ca"),
      " ", url, " >/dev/null; echo scrape=$?; kill $(jobs -p) 2>/dev/null'"));
  EXPECT_THAT(text, HasSubstr("scrape=0"));

  auto without_cert = ServerProcess::Start(kServer, {"--metrics_tls"});
  ASSERT_FALSE(without_cert.ok());
  EXPECT_THAT(without_cert.status().message(), HasSubstr("--metrics_tls serves the certificate"));
}

TEST_F(SecurityTest, AnExpiredCertificateIsServedWithAWarningAndClientsRefuseIt) {
  ASSERT_TRUE(pki_->Issue("server", "localhost", "ca", -1).ok());
  auto server = ServerProcess::Start(
      kServer, {"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("server")});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->Stderr(), HasSubstr("the certificate expired on"));
  EXPECT_EQ(HealthCheck(TlsChannel((*server)->address())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// The role table, end to end: each token against each rpc.
TEST_F(SecurityTest, EveryRoleAgainstEveryRpc) {
  ASSERT_TRUE(ReplaceFileForTest(tokens_, absl::StrCat(TokenLine("c", "alice", "compute"),
                                                       TokenLine("t", "alice", "train"),
                                                       TokenLine("ct", "bob", "compute,train"),
                                                       TokenLine("adm", "ops", "admin")))
                  .ok());
  auto server = ServerProcess::Start(kServer, {"--tokens_file=" + tokens_});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  std::map<std::string, RpcCall> rpcs = EveryRpc(channel);
  std::set<std::string> tested;
  for (const auto& [name, call] : rpcs) tested.insert(name);
  ASSERT_EQ(tested, DescribedRpcs()) << "a new rpc needs a row in EveryRpc and in rpc_roles.cc";

  for (const auto& [name, call] : rpcs) {
    const bool compute_rpc = absl::StrContains(name, "ActivationService");
    const grpc::Status none = call("");
    EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_THAT(none.error_message(), HasSubstr("requires a token")) << name;
    EXPECT_EQ(call("wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    const grpc::Status c = call("c"), t = call("t");
    EXPECT_EQ(IsAuthRefusal(c), !compute_rpc) << name << " with compute: " << c.error_message();
    EXPECT_EQ(IsAuthRefusal(t), compute_rpc) << name << " with train: " << t.error_message();
    EXPECT_EQ((compute_rpc ? t : c).error_code(), grpc::StatusCode::PERMISSION_DENIED) << name;
    EXPECT_FALSE(IsAuthRefusal(call("ct"))) << name;
    EXPECT_FALSE(IsAuthRefusal(call("adm"))) << name;
  }
  EXPECT_TRUE(HealthCheck(channel).ok()) << "health needs no token";
}

TEST_F(SecurityTest, MalformedAuthorizationHeadersAreRefusedAndTheServerKeepsServing) {
  ASSERT_TRUE(ReplaceFileForTest(tokens_, TokenLine("c", "alice", "compute")).ok());
  auto server = ServerProcess::Start(kServer, {"--tokens_file=" + tokens_});
  ASSERT_TRUE(server.ok()) << server.status();
  auto fresh_channel = [&] {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel((*server)->address(), grpc::InsecureChannelCredentials(),
                                     args);
  };
  auto list = [&](const std::vector<std::string>& values) {
    grpc::ClientContext context;
    Prepare(&context, "");
    for (const std::string& v : values) context.AddMetadata("authorization", v);
    v1::ListActivationsResponse r;
    return v1::ActivationService::NewStub(fresh_channel())->ListActivations(&context, {}, &r);
  };
  for (const std::string& value :
       {std::string("c"), std::string("Basic c"), std::string("Bearer "), std::string(""),
        absl::StrCat("Bearer ", std::string(6 << 10, 'c'))}) {
    EXPECT_EQ(list({value}).error_code(), grpc::StatusCode::UNAUTHENTICATED) << value.substr(0, 20);
  }
  // 1 MiB: gRPC's own metadata limit (RESOURCE_EXHAUSTED) or ours (UNAUTHENTICATED) refuses it.
  const grpc::Status huge = list({absl::StrCat("Bearer ", std::string(1 << 20, 'c'))});
  EXPECT_THAT(huge.error_code(), ::testing::AnyOf(grpc::StatusCode::UNAUTHENTICATED,
                                                  grpc::StatusCode::RESOURCE_EXHAUSTED))
      << huge.error_message();
  const grpc::Status many = list(std::vector<std::string>(50, "Bearer c"));
  EXPECT_EQ(many.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "50 authorization values";
  EXPECT_TRUE(list({"Bearer c"}).ok()) << "the server keeps serving";
  EXPECT_TRUE(HealthCheck(fresh_channel()).ok());
}

// A load runs with token "old" while the file gains "new", is replaced by a broken file (the
// last good one stays), and finally revokes "old".
TEST_F(SecurityTest, TokenFileRotationWhileCallsRunFailsNoCall) {
  ASSERT_TRUE(ReplaceFileForTest(tokens_, TokenLine("old", "alice", "compute")).ok());
  auto server =
      ServerProcess::Start(kServer, {"--tokens_file=" + tokens_, "--credentials_reload=100ms"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  const RpcCall list = EveryRpc(channel).at("/actserve.v1.ActivationService/ListActivations");
  CallLoop load([&] { return list("old").ok(); });
  auto wait_until = [](const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
    return done();
  };
  ASSERT_TRUE(ReplaceFileForTest(tokens_, absl::StrCat(TokenLine("old", "alice", "compute"),
                                                       TokenLine("new", "alice", "compute")))
                  .ok());
  EXPECT_TRUE(wait_until([&] { return list("new").ok(); })) << "the new token was not loaded";
  ASSERT_TRUE(ReplaceFileForTest(tokens_, "sha256:broken alice compute\n").ok());
  EXPECT_TRUE(wait_until([&] {
    return absl::StrContains((*server)->Stderr(), "keeping the previous 2 tokens");
  })) << (*server)->Stderr();
  EXPECT_TRUE(list("new").ok()) << "the last good tokens stay in force";
  const CallLoop::Counts counts = load.Stop();
  EXPECT_GT(counts.calls, 0);
  EXPECT_EQ(counts.failures, 0) << "of " << counts.calls << " calls during the rotation";

  ASSERT_TRUE(ReplaceFileForTest(tokens_, TokenLine("new", "alice", "compute")).ok());
  EXPECT_TRUE(wait_until([&] {
    return list("old").error_code() == grpc::StatusCode::UNAUTHENTICATED;
  })) << "a revoked token is refused";
}

// Alice's job and sweep are NOT_FOUND for Bob, with the very message an unknown id gets, on
// every job rpc; ListJobs shows each tenant its own; an admin sees and reaches all.
TEST_F(SecurityTest, TenantsSeeOnlyTheirOwnJobsOnEveryJobRpc) {
  ASSERT_TRUE(ReplaceFileForTest(tokens_, absl::StrCat(TokenLine("alice", "alice", "train"),
                                                       TokenLine("bob", "bob", "train"),
                                                       TokenLine("ops", "ops", "admin")))
                  .ok());
  auto server = ServerProcess::Start(kServer, {"--tokens_file=" + tokens_});
  ASSERT_TRUE(server.ok()) << server.status();
  auto train = v1::TrainingService::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  v1::SubmitJobRequest submit;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFileForTest(ACTSERVE_SOURCE_DIR "/client/examples/xor.textproto"),
      submit.mutable_spec()));
  v1::Job job;
  {
    grpc::ClientContext c;
    Prepare(&c, "alice");
    ASSERT_TRUE(train->SubmitJob(&c, submit, &job).ok());
  }
  v1::SubmitSweepRequest sweep_request;
  *sweep_request.mutable_spec() = submit.spec();
  sweep_request.add_activations()->set_activation("relu");
  v1::Sweep sweep;
  {
    grpc::ClientContext c;
    Prepare(&c, "alice");
    ASSERT_TRUE(train->SubmitSweep(&c, sweep_request, &sweep).ok());
  }
  // Each job rpc on `id` as `token`.
  auto job_rpcs = [&](const std::string& token, const std::string& id,
                      const std::string& sweep_id) {
    std::map<std::string, grpc::Status> out;
    auto unary = [&](const char* name, auto method, auto request, auto response) {
      grpc::ClientContext c;
      Prepare(&c, token);
      out[name] = ((*train).*method)(&c, request, &response);
    };
    using T = v1::TrainingService::Stub;
    v1::GetJobRequest get;
    get.set_id(id);
    unary("GetJob", &T::GetJob, get, v1::Job());
    v1::PredictRequest predict;
    predict.set_job_id(id);
    predict.mutable_features()->add_shape(1);
    predict.mutable_features()->add_shape(2);
    predict.mutable_features()->set_dtype(v1::DTYPE_FLOAT32);
    predict.mutable_features()->add_float_data(1);
    predict.mutable_features()->add_float_data(1);
    unary("Predict", &T::Predict, predict, v1::PredictResponse());
    v1::GetSweepRequest get_sweep;
    get_sweep.set_id(sweep_id);
    unary("GetSweep", &T::GetSweep, get_sweep, v1::Sweep());
    {
      grpc::ClientContext c;
      Prepare(&c, token);
      v1::WatchJobRequest watch;
      watch.set_id(id);
      auto reader = train->WatchJob(&c, watch);
      v1::WatchJobResponse r;
      while (reader->Read(&r)) {
      }
      out["WatchJob"] = reader->Finish();
    }
    v1::CancelJobRequest cancel;
    cancel.set_id(id);
    unary("CancelJob", &T::CancelJob, cancel, v1::Job());
    v1::DeleteJobRequest del;
    del.set_id(id);
    unary("DeleteJob", &T::DeleteJob, del, v1::DeleteJobResponse());
    return out;
  };
  auto listed = [&](const std::string& token) {
    grpc::ClientContext c;
    Prepare(&c, token);
    v1::ListJobsResponse r;
    EXPECT_TRUE(train->ListJobs(&c, {}, &r).ok());
    std::set<std::string> ids;
    for (const v1::Job& j : r.jobs()) ids.insert(j.id());
    return ids;
  };
  EXPECT_THAT(listed("alice"), ::testing::Contains(job.id()));
  EXPECT_EQ(listed("alice").size(), 1u + sweep.jobs_size());
  EXPECT_THAT(listed("bob"), ::testing::IsEmpty());
  EXPECT_EQ(listed("ops"), listed("alice"));

  const std::map<std::string, grpc::Status> bob = job_rpcs("bob", job.id(), sweep.id());
  const std::map<std::string, grpc::Status> unknown = job_rpcs("bob", "job-999", "sweep-999");
  ASSERT_EQ(bob.size(), 6u);
  for (const auto& [name, status] : bob) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << name << ": " << status.error_message();
    std::string expected = unknown.at(name).error_message();
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"job-999", job.id()}, {"sweep-999", sweep.id()}}) {
      for (size_t at; (at = expected.find(from)) != std::string::npos;) {
        expected.replace(at, from.size(), to);
      }
    }
    EXPECT_EQ(status.error_message(), expected) << name << " discloses the job";
  }
  // Alice reaches her job, and the admin another of hers (Cancel and Delete end each).
  const std::string sweep_job = sweep.jobs(0).id();
  for (const auto& [who, id] :
       {std::pair<std::string, std::string>{"alice", job.id()}, {"ops", sweep_job}}) {
    const std::map<std::string, grpc::Status> own = job_rpcs(who, id, sweep.id());
    EXPECT_TRUE(own.at("GetJob").ok()) << who << ": " << own.at("GetJob").error_message();
    EXPECT_TRUE(own.at("GetSweep").ok()) << who;
    EXPECT_NE(own.at("WatchJob").error_code(), grpc::StatusCode::NOT_FOUND) << who;
    EXPECT_TRUE(own.at("DeleteJob").ok()) << who << ": " << own.at("DeleteJob").error_message();
  }
  EXPECT_EQ(listed("alice").count(job.id()), 0u) << "deleted";
  EXPECT_EQ(listed("alice").count(sweep_job), 0u) << "deleted by the admin";
}

TEST_F(SecurityTest, TlsAndMutualTlsHandshakesWithTokens) {
  ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
  ASSERT_TRUE(pki_->Issue("client", "alice").ok());
  ASSERT_TRUE(pki_->MakeCa("rogue").ok());
  ASSERT_TRUE(pki_->Issue("mallory", "mallory", "rogue").ok());
  ASSERT_TRUE(ReplaceFileForTest(tokens_, TokenLine("c", "alice", "compute")).ok());
  auto tls = ServerProcess::Start(
      kServer, {"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("server"),
                "--tokens_file=" + tokens_});
  ASSERT_TRUE(tls.ok()) << tls.status();
  const RpcCall over_tls =
      EveryRpc(TlsChannel((*tls)->address())).at("/actserve.v1.ActivationService/Forward");
  grpc::Status ok = over_tls("c");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(over_tls("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(HealthCheck(grpc::CreateChannel((*tls)->address(), grpc::InsecureChannelCredentials()))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "plaintext is refused on a TLS port";

  auto mtls = ServerProcess::Start(
      kServer, {"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("server"),
                "--tls_client_ca=" + pki_->pem("ca"), "--tokens_file=" + tokens_});
  ASSERT_TRUE(mtls.ok()) << mtls.status();
  const std::string forward = "/actserve.v1.ActivationService/Forward";
  grpc::Status with_cert = EveryRpc(TlsChannel((*mtls)->address(), "client")).at(forward)("c");
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();
  EXPECT_EQ(EveryRpc(TlsChannel((*mtls)->address())).at(forward)("c").error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  EXPECT_EQ(EveryRpc(TlsChannel((*mtls)->address(), "mallory")).at(forward)("c").error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a client certificate from another CA";
}

TEST_F(SecurityTest, UnderMutualTlsAListedClientCertificateStandsInForAToken) {
  ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
  ASSERT_TRUE(pki_->Issue("etl", "etl-client").ok());
  ASSERT_TRUE(pki_->Issue("carol", "carol").ok());
  ASSERT_TRUE(ReplaceFileForTest(tokens_, absl::StrCat("cert:etl-client etl compute,train\n",
                                                       TokenLine("c", "alice", "compute")))
                  .ok());
  const std::vector<std::string> tls = {"--tls_cert=" + pki_->pem("server"),
                                        "--tls_key=" + pki_->key("server"),
                                        "--tokens_file=" + tokens_};
  std::vector<std::string> mtls = tls;
  mtls.push_back("--tls_client_ca=" + pki_->pem("ca"));
  auto server = ServerProcess::Start(kServer, mtls);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string forward = "/actserve.v1.ActivationService/Forward";
  grpc::Status s = EveryRpc(TlsChannel((*server)->address(), "etl")).at(forward)("");
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The line's roles apply: ListJobs needs train.
  auto etl_train = v1::TrainingService::NewStub(TlsChannel((*server)->address(), "etl"));
  v1::ListJobsRequest list;
  v1::ListJobsResponse jobs;
  grpc::ClientContext c;
  Prepare(&c, "");
  EXPECT_TRUE(etl_train->ListJobs(&c, list, &jobs).ok()) << "the line's train role";
  s = EveryRpc(TlsChannel((*server)->address(), "carol")).at(forward)("");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("\"carol\" has no cert: line"));
  s = EveryRpc(TlsChannel((*server)->address(), "carol")).at(forward)("c");
  EXPECT_TRUE(s.ok()) << "a token still works: " << s.error_message();

  // Without --tls_client_ca the server asks for no certificate: a token is needed.
  auto tls_only = ServerProcess::Start(kServer, tls);
  ASSERT_TRUE(tls_only.ok()) << tls_only.status();
  s = EveryRpc(TlsChannel((*tls_only)->address(), "etl")).at(forward)("");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

TEST_F(SecurityTest, CertificateRotationWhileCallsRunFailsNoCall) {
  ASSERT_TRUE(pki_->Issue("server", "server-1").ok());
  auto server = ServerProcess::Start(
      kServer, {"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("server")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string forward = "/actserve.v1.ActivationService/Forward";
  const RpcCall call = EveryRpc(TlsChannel((*server)->address())).at(forward);
  CallLoop load([&] { return call("").ok(); });
  ASSERT_TRUE(pki_->Rotate("server", "server-2").ok());
  std::string cn;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (cn != "server-2" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    grpc::ClientContext c;
    Prepare(&c, "");
    grpc::health::v1::HealthCheckResponse r;
    if (grpc::health::v1::Health::NewStub(TlsChannel((*server)->address()))
            ->Check(&c, {}, &r)
            .ok()) {
      auto values = c.auth_context()->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
      if (!values.empty()) cn.assign(values.front().data(), values.front().size());
    }
  }
  const CallLoop::Counts counts = load.Stop();
  EXPECT_EQ(cn, "server-2") << "the rotated certificate was not served within 15 s";
  EXPECT_GT(counts.calls, 0);
  EXPECT_EQ(counts.failures, 0) << "of " << counts.calls << " calls during the rotation";
}

}  // namespace
}  // namespace actserve::testing
