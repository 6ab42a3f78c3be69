// End-to-end tests of the real actserve binary on 127.0.0.1, over gRPC: every rpc, the bad
// inputs the API promises precise statuses for, limits, health, reflection, drain on SIGTERM,
// a busy port, and actctl. Values are checked against the independent long double references.
#include <signal.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/lib/activation_client.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kernels/catalog/catalog.h"
#include "kernels/testing/reference.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "tests/server_process.h"

// proto_reflection_descriptor_database.h is not installed by Debian; the reflection test speaks
// the reflection protocol through its generated stub instead.
#include "proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace actserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kServer[] = ACTSERVE_BINARY;
constexpr char kActctl[] = ACTCTL_BINARY;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s =
        ServerProcess::Start(kServer, {"--max_elements=100000", "--max_message_bytes=2000000"});
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(SIGTERM, absl::Seconds(20)), 0) << server_->Stderr();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    client_ = client::ActivationClient::Connect(server_->address());
  }

  static ServerProcess* server_;
  std::unique_ptr<client::ActivationClient> client_;
};
ServerProcess* ServerTest::server_ = nullptr;

TEST_F(ServerTest, ListsTheWholeCatalogWithMetadata) {
  auto list = client_->ListActivations();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), static_cast<size_t>(kNumActivations));
  bool found_prelu = false;
  for (const v1::ActivationInfo& a : *list) {
    EXPECT_FALSE(a.formula().empty()) << a.name();
    if (a.name() == "prelu") {
      found_prelu = true;
      ASSERT_EQ(a.params_size(), 1);
      EXPECT_TRUE(a.params(0).learnable());
      EXPECT_EQ(a.params(0).default_value(), 0.25);
    }
  }
  EXPECT_TRUE(found_prelu);
}

TEST_F(ServerTest, ForwardAndBackwardMatchTheReferenceInBothPrecisions) {
  std::vector<double> xd;
  for (int i = 0; i < 101; ++i) xd.push_back(-5 + 0.1 * i);
  std::vector<float> xf(xd.begin(), xd.end());
  std::vector<int64_t> shape = {101};
  for (const char* name : {"gelu", "mish", "sigmoid", "softplus", "elu"}) {
    const ElementwiseReference* ref = FindElementwiseReference(name);
    ASSERT_NE(ref, nullptr);
    Real p[4] = {1, 20, 0, 0};  // elu a = 1; softplus beta = 1, threshold = 20
    auto y64 = client_->Forward(name, shape, absl::MakeConstSpan(xd));
    auto y32 = client_->Forward(name, shape, absl::MakeConstSpan(xf));
    std::vector<double> ones(101, 1.0);
    auto d64 =
        client_->Backward(name, shape, absl::MakeConstSpan(xd), shape, absl::MakeConstSpan(ones));
    ASSERT_TRUE(y64.ok() && y32.ok() && d64.ok()) << name;
    ASSERT_EQ(y64->values.size(), 101u);
    for (int i = 0; i < 101; ++i) {
      double f = static_cast<double>(ref->f(xd[i], p, 0));
      double df = static_cast<double>(ref->df(xd[i], p, 0));
      EXPECT_NEAR(y64->values[i], f, 1e-13 * (1 + std::fabs(f))) << name << " x=" << xd[i];
      EXPECT_NEAR(y32->values[i], static_cast<double>(ref->f(xf[i], p, 0)),
                  1e-6 * (1 + std::fabs(f)))
          << name << " x=" << xf[i];
      EXPECT_NEAR(d64->dx.values[i], df, 1e-13 * (1 + std::fabs(df))) << name << " x=" << xd[i];
    }
  }
}

TEST_F(ServerTest, BackwardReturnsPerChannelParameterGradients) {
  std::vector<float> x = {-1, 2, -3, 4, -5, 6};  // shape [1, 3, 2]: channels of 2
  std::vector<float> dy(6, 1.0f);
  client::CallOptions o;
  o.params = {{"a", {0.1, 0.2, 0.3}}};
  auto r = client_->Backward("prelu", {1, 3, 2}, x, {1, 3, 2}, dy, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->dx.values, ::testing::ElementsAre(0.1f, 1, 0.2f, 1, 0.3f, 1));
  EXPECT_THAT(r->param_gradients["a"], ::testing::ElementsAre(-1, -3, -5));
}

TEST_F(ServerTest, LastAxisFunctionsChangeTheOutputShape) {
  std::vector<double> x = {1, 5, 2, 3, 9, 0};
  client::CallOptions o;
  o.params = {{"k", {3}}};
  auto y = client_->Forward("maxout", {2, 3}, absl::MakeConstSpan(x), o);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_THAT(y->shape, ::testing::ElementsAre(2, 1));
  EXPECT_THAT(y->values, ::testing::ElementsAre(5, 9));
}

TEST_F(ServerTest, EvaluateStreamAnswersInOrderAndContinuesAfterABadRequest) {
  grpc::ClientContext context;
  auto stream = client_->stub().Evaluate(&context);
  const int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    v1::EvaluateRequest req;
    req.set_id(1000 + i);
    v1::ForwardRequest* f = req.mutable_forward();
    f->set_activation(i == 17 ? "no_such_function" : "relu");
    f->mutable_x()->set_dtype(v1::DTYPE_FLOAT32);
    f->mutable_x()->add_shape(2);
    f->mutable_x()->add_float_data(-1);
    f->mutable_x()->add_float_data(static_cast<float>(i));
    ASSERT_TRUE(stream->Write(req));
  }
  stream->WritesDone();
  v1::EvaluateResponse resp;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(stream->Read(&resp)) << i;
    EXPECT_EQ(resp.id(), 1000u + i);
    if (i == 17) {
      ASSERT_TRUE(resp.has_error());
      EXPECT_EQ(resp.error().code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(resp.error().message(), HasSubstr("no_such_function"));
    } else {
      ASSERT_TRUE(resp.has_forward()) << i;
      EXPECT_THAT(resp.forward().y().float_data(),
                  ::testing::ElementsAre(0, static_cast<float>(i)));
    }
  }
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_TRUE(stream->Finish().ok());
}

struct BadCase {
  const char* what;
  std::function<void(v1::BackwardRequest*)> mutate;
  grpc::StatusCode code;
  const char* message;
};

// A valid backward request that each case breaks in one way.
v1::BackwardRequest ValidBackward() {
  v1::BackwardRequest r;
  r.set_activation("prelu");
  for (v1::Tensor* t : {r.mutable_x(), r.mutable_dy()}) {
    t->set_dtype(v1::DTYPE_FLOAT32);
    t->add_shape(2);
    t->add_shape(3);
    for (int i = 0; i < 6; ++i) t->add_float_data(i - 3.0f);
  }
  return r;
}

TEST_F(ServerTest, BadInputGetsAPreciseStatusAndTheServerKeepsServing) {
  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  std::vector<BadCase> cases = {
      {"unknown activation", [](auto* r) { r->set_activation("relux"); }, kInvalid,
       "unknown activation 'relux'"},
      {"unknown parameter",
       [](auto* r) {
         auto* p = r->add_params();
         p->set_name("b");
         p->add_values(1);
       },
       kInvalid, "prelu has no parameter 'b'"},
      {"data length", [](auto* r) { r->mutable_x()->add_float_data(1); }, kInvalid,
       "x.float_data has 7 elements but x.shape [2, 3] needs 6"},
      {"negative dim", [](auto* r) { r->mutable_x()->set_shape(0, -2); }, kInvalid,
       "negative dimension -2"},
      {"overflowing dims",
       [](auto* r) {
         r->mutable_x()->set_shape(0, int64_t{1} << 40);
         r->mutable_x()->set_shape(1, int64_t{1} << 40);
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "more than 100000 elements"},
      {"dtype unspecified", [](auto* r) { r->mutable_x()->set_dtype(v1::DTYPE_UNSPECIFIED); },
       kInvalid, "x.dtype must be DTYPE_FLOAT32 or DTYPE_FLOAT64"},
      {"per-channel count",
       [](auto* r) {
         auto* p = r->add_params();
         p->set_name("a");
         p->add_values(0.1);
         p->add_values(0.2);
       },
       kInvalid, "has 2 values but x has 3 channels"},
      {"parameter out of range",
       [](auto* r) {
         r->set_activation("celu");
         auto* p = r->add_params();
         p->set_name("a");
         p->add_values(-1);
       },
       kInvalid, "parameter 'a' of celu must be > 0, got -1"},
      {"dy shape", [](auto* r) { r->mutable_dy()->set_shape(1, 2); }, kInvalid,
       "dy.float_data has 6 elements but dy.shape [2, 2] needs 4"},
      {"dy shape differs",
       [](auto* r) {
         r->mutable_dy()->set_shape(0, 3);
         r->mutable_dy()->set_shape(1, 2);
       },
       kInvalid, "dy.shape is [3, 2] but prelu of x.shape [2, 3] gives [2, 3]"},
      {"too many elements",
       [](auto* r) {
         r->mutable_x()->set_shape(0, 1);
         r->mutable_x()->set_shape(1, 200000);
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "more than 100000 elements"},
      {"cuda without a device", [](auto* r) { r->set_backend(v1::BACKEND_CUDA); },
       grpc::StatusCode::UNAVAILABLE, "BACKEND_CUDA"},
  };
  for (const BadCase& c : cases) {
    v1::BackwardRequest req = ValidBackward();
    c.mutate(&req);
    grpc::ClientContext context;
    v1::BackwardResponse resp;
    grpc::Status s = client_->stub().Backward(&context, req, &resp);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message)) << c.what;
  }
  grpc::ClientContext context;
  v1::BackwardResponse resp;
  EXPECT_TRUE(client_->stub().Backward(&context, ValidBackward(), &resp).ok());
}

TEST_F(ServerTest, MessagesBeyondTheSizeLimitAreResourceExhausted) {
  std::vector<float> x(600000, 1.0f);  // 2.4 MB > --max_message_bytes=2000000
  auto y = client_->Forward("relu", {600000}, x);
  EXPECT_EQ(y.status().code(), absl::StatusCode::kResourceExhausted) << y.status();
  EXPECT_TRUE(client_->Forward("relu", {1}, std::vector<float>{1.0f}).ok());
}

TEST_F(ServerTest, MalformedProtobufBytesAreRejectedWithoutHarm) {
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  const char garbage[] = "\xff\xff\xff\xff\x0f not a protobuf message";
  grpc::Slice slice(garbage, sizeof garbage);
  grpc::ByteBuffer request(&slice, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&context, "/actserve.v1.ActivationService/Forward", grpc::StubOptions(),
                    &request, &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> l(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("not a valid actserve.v1.ForwardRequest"));
  EXPECT_TRUE(client_->Forward("relu", {1}, std::vector<float>{1.0f}).ok());
}

TEST_F(ServerTest, DeadlinesAreHonoured) {
  std::vector<float> x(90000, 0.5f);
  client::CallOptions o;
  o.timeout = absl::Microseconds(1);
  auto y = client_->Forward("noisy_relu", {90000}, x, o);
  EXPECT_EQ(y.status().code(), absl::StatusCode::kDeadlineExceeded) << y.status();
}

TEST_F(ServerTest, HealthReportsServingForTheServerAndTheService) {
  for (const char* service : {"", "actserve.v1.ActivationService"}) {
    absl::StatusOr<bool> serving = client_->Healthy(service);
    ASSERT_TRUE(serving.ok()) << service << ": " << serving.status();
    EXPECT_TRUE(*serving) << service;
  }
  EXPECT_EQ(client_->Healthy("no.such.Service").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ServerTest, ReflectionListsTheServices) {
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::vector<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names,
              ::testing::IsSupersetOf({"actserve.v1.ActivationService", "grpc.health.v1.Health"}));
  // And the API's file descriptor, by symbol.
  req.set_file_containing_symbol("actserve.v1.ActivationService");
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_GT(resp.file_descriptor_response().file_descriptor_proto_size(), 0);
  stream->WritesDone();
  stream->Finish();
}

TEST_F(ServerTest, ActctlListsComputesAndChecksHealth) {
  const std::string base = absl::StrCat(kActctl, " --server ", server_->address(), " ");
  auto [rc, out] = RunCommand(base + "list --json");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(out, HasSubstr("\"name\":\"gelu\""));
  EXPECT_THAT(out, HasSubstr("\"aliases\":[\"logistic\"]"));
  std::tie(rc, out) = RunCommand(base + "forward relu -2 0.5 3");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "x,y\n-2,0\n0.5,0.5\n3,3\n");
  std::tie(rc, out) = RunCommand(base + "backward tanh --range=0:1:2 --format=json");
  EXPECT_EQ(rc, 0);
  EXPECT_THAT(out, HasSubstr("\"dx\": [1, 0.41997"));
  std::tie(rc, out) = RunCommand(base + "health");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "SERVING\n");
  std::tie(rc, out) = RunCommand(base + "forward relux 1 2>&1");
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out, HasSubstr("INVALID_ARGUMENT"));
  std::string svg = ::testing::TempDir() + "/plot.svg";
  std::tie(rc, out) = RunCommand(base + "plot sigmoid,relu --out=" + svg);
  EXPECT_EQ(rc, 0) << out;
  auto [rc2, head] = RunCommand("head -c 200 " + svg);
  EXPECT_THAT(head, HasSubstr("<svg"));
}

// These start servers of their own.

// Several clients keep calls in flight; at SIGTERM health turns NOT_SERVING, every call either
// completes or is refused with UNAVAILABLE (none is cancelled or lost), calls in flight at the
// signal complete after it, and the process exits 0.
TEST(ServerLifecycleTest, SigtermDrainsInFlightCallsAndExitsZero) {
  auto server = ServerProcess::Start(kServer, {"--drain_deadline=20s"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext watch_context;
  auto watch = health->Watch(&watch_context, grpc::health::v1::HealthCheckRequest());
  grpc::health::v1::HealthCheckResponse status;
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, ok_after_signal{0}, unavailable{0}, other{0};
  std::atomic<int64_t> signal_ns{INT64_MAX};
  std::string other_error;
  std::mutex mu;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto client = client::ActivationClient::Connect(address);
      std::vector<float> x(1 << 20, 1.0f);  // noisy_relu: tens of ms of computation each
      while (!stop) {
        absl::Status s = client->Forward("noisy_relu", {1 << 20}, x).status();
        if (s.ok()) {
          ok++;
          if (absl::GetCurrentTimeNanos() > signal_ns) ok_after_signal++;
        } else if (s.code() == absl::StatusCode::kUnavailable) {
          unavailable++;
          return;
        } else {
          std::lock_guard<std::mutex> l(mu);
          other_error = s.ToString();
          other++;
          return;
        }
      }
    });
  }
  // Signal once the clients are calling back to back (several calls done), whatever the CPU's
  // speed: then calls are in flight at the signal.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (ok < 8 && other == 0 && unavailable == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  signal_ns = absl::GetCurrentTimeNanos();
  kill((*server)->pid(), SIGTERM);
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  for (std::thread& c : clients) c.join();
  EXPECT_EQ(other, 0) << other_error << "\nserver: " << (*server)->Stderr();
  EXPECT_EQ(unavailable, 4);
  EXPECT_GT(ok_after_signal, 0) << "no call was in flight at the signal";
  watch_context.TryCancel();
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(20)), 0) << (*server)->Stderr();
}

TEST(ServerLifecycleTest, ABusyPortIsAClearErrorAtStart) {
  auto first = ServerProcess::Start(kServer, {});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = ServerProcess::Start(kServer, {"--address=" + (*first)->address()});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("cannot listen on"));
  EXPECT_EQ((*first)->Stop(SIGINT, absl::Seconds(20)), 0);
}

}  // namespace
}  // namespace actserve::testing

namespace actserve::testing {
namespace {

// Which backends the server has, and why not CUDA when it lacks it: in its log, its metrics, and
// the status a BACKEND_CUDA request gets.
TEST(BackendsTest, TheServerSaysWhichBackendsItHasAndWhyNotCuda) {
  auto server = ServerProcess::Start(kServer, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string log = (*server)->Stderr();
  ASSERT_THAT(log, HasSubstr("actserve: backends: cpu"));
  const bool gpu = absl::StrContains(log, "backends: cpu, cuda");
  auto [rc, text] = RunCommand("curl -sf " + (*server)->metrics_url());
  ASSERT_EQ(rc, 0);
  EXPECT_THAT(text, HasSubstr(gpu ? "backends=\"cpu,cuda\"" : "backends=\"cpu\""));
  EXPECT_EQ(MetricValue(text, "actserve_cuda_devices"), gpu ? 1 : 0);
  auto client = client::ActivationClient::Connect((*server)->address());
  auto y = client->Forward("relu", {2}, std::vector<float>{-1, 1}, {.backend = v1::BACKEND_CUDA});
  if (gpu) {
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(y->values, (std::vector<float>{0, 1}));
  } else {
    EXPECT_EQ(y.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(y.status().message(), HasSubstr("BACKEND_CUDA is not available on this server ("));
  }
  // --nocuda: the CPU alone, by request.
  auto off = ServerProcess::Start(kServer, {"--nocuda"});
  ASSERT_TRUE(off.ok());
  EXPECT_THAT((*off)->Stderr(), HasSubstr("turned off with --nocuda"));
}

// The real /metrics endpoint: gRPC server metrics with go-grpc-prometheus's names, domain
// metrics, process metrics; counters move with the calls made.
TEST(MetricsEndpointTest, CountsCallsElementsAndErrors) {
  auto server = ServerProcess::Start(kServer, {});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_FALSE((*server)->metrics_url().empty());
  auto client = client::ActivationClient::Connect((*server)->address());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->Forward("gelu", {5}, std::vector<float>(5, 1.0f)).ok());
  }
  EXPECT_FALSE(client->Forward("relux", {1}, std::vector<float>{1.0f}).ok());
  auto [rc, text] = RunCommand("curl -sf " + (*server)->metrics_url());
  ASSERT_EQ(rc, 0);
  const std::string fwd =
      "{grpc_method=\"Forward\",grpc_service=\"actserve.v1.ActivationService\",grpc_type="
      "\"unary\"}";
  EXPECT_EQ(MetricValue(text, "grpc_server_started_total" + fwd), 4);
  EXPECT_EQ(MetricValue(text, "grpc_server_msg_received_total" + fwd), 4);
  EXPECT_EQ(MetricValue(text,
                        "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Forward\","
                        "grpc_service=\"actserve.v1.ActivationService\",grpc_type=\"unary\"}"),
            3);
  EXPECT_EQ(MetricValue(text,
                        "grpc_server_handled_total{grpc_code=\"InvalidArgument\","
                        "grpc_method=\"Forward\",grpc_service=\"actserve.v1.ActivationService\","
                        "grpc_type=\"unary\"}"),
            1);
  EXPECT_EQ(MetricValue(text,
                        "actserve_elements_total{activation=\"gelu\",backend=\"cpu\","
                        "direction=\"forward\",dtype=\"float32\"}"),
            15);
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_bucket{grpc_method=\"Forward\","
                              "grpc_service=\"actserve.v1.ActivationService\",grpc_type=\"unary\","
                              "le=\"1e-05\"}"));
  EXPECT_THAT(text, HasSubstr("actserve_build_info{backends=\"cpu\",version=\"0.1.0\"} 1"));
  EXPECT_GT(MetricValue(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(MetricValue(text, "process_start_time_seconds"), 1.7e9);
  EXPECT_GE(MetricValue(text, "actserve_requests_in_flight"), 0);
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(20)), 0);
}

TEST(MetricsEndpointTest, PromtoolFindsTheLiveEndpointClean) {
  if (RunCommand("command -v promtool").first != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  }
  auto server = ServerProcess::Start(kServer, {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = client::ActivationClient::Connect((*server)->address());
  ASSERT_TRUE(client->Forward("relu", {2}, std::vector<double>{-1, 1}).ok());
  auto [rc, out] =
      RunCommand("curl -sf " + (*server)->metrics_url() + " | promtool check metrics 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool found problems";
  EXPECT_EQ((*server)->Stop(SIGTERM, absl::Seconds(20)), 0);
}

TEST(MetricsEndpointTest, EmptyAddressTurnsMetricsOffAndABusyPortIsAnError) {
  auto off = ServerProcess::Start(kServer, {"--metrics_address="});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE((*off)->metrics_url().empty());
  auto on = ServerProcess::Start(kServer, {});
  ASSERT_TRUE(on.ok()) << on.status();
  std::string busy = (*on)->metrics_url().substr(7);  // host:port/metrics
  busy = busy.substr(0, busy.find('/'));
  auto second = ServerProcess::Start(kServer, {"--metrics_address=" + busy});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("cannot serve metrics on"));
  EXPECT_EQ((*off)->Stop(SIGTERM, absl::Seconds(20)), 0);
  EXPECT_EQ((*on)->Stop(SIGTERM, absl::Seconds(20)), 0);
}

}  // namespace
}  // namespace actserve::testing
