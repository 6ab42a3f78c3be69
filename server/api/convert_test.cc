#include "server/api/convert.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;

v1::Tensor FloatTensor(std::vector<int64_t> shape, std::vector<float> data) {
  v1::Tensor t;
  t.mutable_shape()->Assign(shape.begin(), shape.end());
  t.set_dtype(v1::DTYPE_FLOAT32);
  t.mutable_float_data()->Assign(data.begin(), data.end());
  return t;
}

void ExpectError(const absl::Status& s, absl::StatusCode code, const std::string& text) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(text));
}

TEST(ConvertTest, ForwardComputesIntoTheResponse) {
  v1::ForwardRequest req;
  req.set_activation("relu");
  *req.mutable_x() = FloatTensor({2, 2}, {-1, 2, -3, 4});
  auto call = PrepareForward(req, 1000);
  ASSERT_TRUE(call.ok()) << call.status();
  auto backend = NewCpuBackend({.threads = 1});
  v1::ForwardResponse resp;
  ASSERT_TRUE(RunForward(*backend, *call, req, &resp).ok());
  EXPECT_THAT(resp.y().shape(), ::testing::ElementsAre(2, 2));
  EXPECT_EQ(resp.y().dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(resp.y().float_data(), ::testing::ElementsAre(0, 2, 0, 4));
}

// A request parsed after ReserveForParse (on an arena, merging, as the service does) equals the
// plain parse, whichever tensor field carries the data.
template <class Request>
void ExpectReservedParseEqualsPlainParse(const Request& original) {
  const std::string bytes = original.SerializeAsString();
  google::protobuf::Arena arena;
  auto* reserved = google::protobuf::Arena::CreateMessage<Request>(&arena);
  ReserveForParse(static_cast<int64_t>(bytes.size()), reserved);
  ASSERT_TRUE(reserved->MergeFromString(bytes));
  EXPECT_EQ(reserved->SerializeAsString(), bytes);
}

TEST(ConvertTest, ReservingBeforeParsingKeepsTheRequest) {
  std::vector<float> data(40000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0.25f * static_cast<float>(i);
  v1::ForwardRequest forward;
  forward.set_activation("relu");
  *forward.mutable_x() = FloatTensor({40000}, data);
  ExpectReservedParseEqualsPlainParse(forward);
  forward.mutable_x()->clear_float_data();
  forward.mutable_x()->set_dtype(v1::DTYPE_FLOAT64);
  forward.mutable_x()->mutable_double_data()->Assign(data.begin(), data.end());
  ExpectReservedParseEqualsPlainParse(forward);
  v1::BackwardRequest backward;
  backward.set_activation("prelu");
  *backward.mutable_x() = FloatTensor({40000}, data);
  *backward.mutable_dy() = FloatTensor({40000}, data);
  ExpectReservedParseEqualsPlainParse(backward);
}

TEST(ConvertTest, BackwardReturnsParameterGradientsByName) {
  v1::BackwardRequest req;
  req.set_activation("prelu");
  *req.mutable_x() = FloatTensor({1, 2}, {-1, -2});
  *req.mutable_dy() = FloatTensor({1, 2}, {1, 1});
  v1::Parameter* a = req.add_params();
  a->set_name("a");
  a->add_values(0.1);
  a->add_values(0.2);
  auto call = PrepareBackward(req, 1000);
  ASSERT_TRUE(call.ok()) << call.status();
  auto backend = NewCpuBackend({.threads = 1});
  v1::BackwardResponse resp;
  ASSERT_TRUE(RunBackward(*backend, *call, req, &resp).ok());
  ASSERT_EQ(resp.param_gradients_size(), 1);
  EXPECT_EQ(resp.param_gradients(0).name(), "a");
  EXPECT_THAT(resp.param_gradients(0).values(), ::testing::ElementsAre(-1, -2));
}

TEST(ConvertTest, RejectsMalformedTensorsNamingTheField) {
  v1::ForwardRequest req;
  req.set_activation("relu");
  *req.mutable_x() = FloatTensor({2, 3}, {1, 2, 3, 4, 5});
  ExpectError(PrepareForward(req, 1000).status(), absl::StatusCode::kInvalidArgument,
              "x.float_data has 5 elements but x.shape [2, 3] needs 6");
  req.mutable_x()->set_dtype(v1::DTYPE_UNSPECIFIED);
  ExpectError(PrepareForward(req, 1000).status(), absl::StatusCode::kInvalidArgument,
              "x.dtype must be DTYPE_FLOAT32 or DTYPE_FLOAT64, got DTYPE_UNSPECIFIED");
  *req.mutable_x() = FloatTensor({2, -3}, {});
  ExpectError(PrepareForward(req, 1000).status(), absl::StatusCode::kInvalidArgument,
              "negative dimension -3");
  *req.mutable_x() = FloatTensor({1LL << 40, 1LL << 40}, {});
  ExpectError(PrepareForward(req, 1000).status(), absl::StatusCode::kResourceExhausted,
              "--max_elements");
  *req.mutable_x() = FloatTensor({2000}, std::vector<float>(2000));
  ExpectError(PrepareForward(req, 1000).status(), absl::StatusCode::kResourceExhausted,
              "more than 1000 elements");
  *req.mutable_x() = FloatTensor({1}, {1});
  req.mutable_x()->add_double_data(1);
  ExpectError(PrepareForward(req, 1000).status(), absl::StatusCode::kInvalidArgument,
              "x.double_data must be empty");
}

TEST(ConvertTest, RejectsBadBackwardShapesAndBackends) {
  v1::BackwardRequest req;
  req.set_activation("maxout");
  *req.mutable_x() = FloatTensor({1, 4}, {1, 2, 3, 4});
  *req.mutable_dy() = FloatTensor({1, 4}, {1, 1, 1, 1});
  ExpectError(PrepareBackward(req, 1000).status(), absl::StatusCode::kInvalidArgument,
              "dy.shape is [1, 4] but maxout of x.shape [1, 4] gives [1, 2]");
  *req.mutable_dy() = FloatTensor({1, 2}, {1, 1});
  req.mutable_dy()->set_dtype(v1::DTYPE_FLOAT64);
  req.mutable_dy()->mutable_double_data()->Add(1);
  req.mutable_dy()->mutable_double_data()->Add(1);
  req.mutable_dy()->clear_float_data();
  ExpectError(PrepareBackward(req, 1000).status(), absl::StatusCode::kInvalidArgument,
              "dy.dtype is DTYPE_FLOAT64 but x.dtype is DTYPE_FLOAT32");
  v1::ForwardRequest fwd;
  fwd.set_activation("relu");
  *fwd.mutable_x() = FloatTensor({1}, {1});
  fwd.set_backend(v1::BACKEND_CUDA);
  std::unique_ptr<Backend> cpu = NewCpuBackend();
  Backends cpu_only{.cpu = cpu.get(), .cuda_unavailable = "no device"};
  ExpectError(SelectBackend(cpu_only, fwd.backend(), 1).status(), absl::StatusCode::kUnavailable,
              "backend: BACKEND_CUDA is not available on this server (no device)");
  ExpectError(SelectBackend(cpu_only, static_cast<v1::Backend>(7), 1).status(),
              absl::StatusCode::kInvalidArgument, "backend: unknown value 7");
  EXPECT_EQ(*SelectBackend(cpu_only, v1::BACKEND_UNSPECIFIED, int64_t{1} << 30), cpu.get());
  // With a second backend (the CPU standing in for a GPU), auto picks it for large calls only.
  std::unique_ptr<Backend> gpu = NewCpuBackend();
  Backends both{.cpu = cpu.get(), .cuda = gpu.get(), .cuda_min_elements = 1000};
  EXPECT_EQ(*SelectBackend(both, v1::BACKEND_UNSPECIFIED, 999), cpu.get());
  EXPECT_EQ(*SelectBackend(both, v1::BACKEND_UNSPECIFIED, 1000), gpu.get());
  EXPECT_EQ(*SelectBackend(both, v1::BACKEND_CPU, 1 << 20), cpu.get());
  EXPECT_EQ(*SelectBackend(both, v1::BACKEND_CUDA, 1), gpu.get());
}

TEST(ConvertTest, ListingCarriesTheWholeCatalog) {
  v1::ListActivationsResponse resp;
  FillActivationList(&resp);
  ASSERT_EQ(resp.activations_size(), kNumActivations);
  for (int i = 0; i < kNumActivations; ++i) {
    const v1::ActivationInfo& a = resp.activations(i);
    const ActivationInfo& info = AllActivations()[i];
    EXPECT_EQ(a.name(), info.name);
    EXPECT_EQ(a.params_size(), info.num_params());
    EXPECT_NE(a.properties().saturation(), v1::SATURATION_UNSPECIFIED) << a.name();
    EXPECT_NE(a.properties().cost(), v1::COST_UNSPECIFIED) << a.name();
    EXPECT_NE(a.layout(), v1::LAYOUT_UNSPECIFIED) << a.name();
    EXPECT_NE(a.noise(), v1::NOISE_UNSPECIFIED) << a.name();
  }
}

// The wire enums mirror the core's: every core value maps to a distinct wire value, and every
// wire value but *_UNSPECIFIED is used, so neither side can gain a value the other lacks.
TEST(ConvertTest, WireEnumsAgreeWithTheCoreBothWays) {
  v1::ListActivationsResponse resp;
  FillActivationList(&resp);
  std::set<int> saturation, cost, layout, noise;
  for (const v1::ActivationInfo& a : resp.activations()) {
    saturation.insert(a.properties().saturation());
    cost.insert(a.properties().cost());
    layout.insert(a.layout());
    noise.insert(a.noise());
  }
  auto used_all = [](const google::protobuf::EnumDescriptor* d, const std::set<int>& used) {
    for (int i = 0; i < d->value_count(); ++i) {
      int v = d->value(i)->number();
      if (v != 0) EXPECT_TRUE(used.count(v)) << d->value(i)->name() << " is never produced";
    }
  };
  used_all(v1::Saturation_descriptor(), saturation);
  used_all(v1::Cost_descriptor(), cost);
  used_all(v1::Layout_descriptor(), layout);
  used_all(v1::Noise_descriptor(), noise);
}

TEST(ConvertTest, StatusCodesCarryOver) {
  grpc::Status s = ToGrpcStatus(absl::ResourceExhaustedError("too big"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "too big");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace actserve::server
