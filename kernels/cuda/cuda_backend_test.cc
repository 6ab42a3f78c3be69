// The CUDA backend against the CPU backend, over every catalog entry: forward, derivative and
// parameter gradients, fp32 and fp64, scalar and per-channel parameters, stochastic functions
// with the same seed. Without a device every comparison is skipped (and counted as skipped),
// and one test checks that the factory says why.
#include "kernels/cuda/cuda_backend.h"

#include <cmath>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/catalog/catalog.h"
#include "kernels/cpu/cpu_backend.h"

namespace actserve {
namespace {

TEST(CudaAvailabilityTest, WithoutADeviceTheFactoryAnswersUnavailableAndSaysWhy) {
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewCudaBackend();
  std::printf("CUDA compiled in: %s; devices: %s\n", CudaCompiledIn() ? "yes" : "no",
              DescribeCudaDevices().c_str());
  if (backend.ok()) GTEST_SKIP() << "a CUDA device is present: " << DescribeCudaDevices();
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(backend.status().message().empty());
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Backend>> b = NewCudaBackend();
    if (!b.ok()) GTEST_SKIP() << "no CUDA device to test on: " << b.status().message();
    cuda_ = *std::move(b);
    cpu_ = NewCpuBackend({.threads = 1});
  }

  // Inputs: a grid over [-8, 8] and the special values, shaped [rows, 3, ...] so that
  // per-channel parameters have 3 channels; last-axis functions get rows of 12.
  static std::vector<double> Inputs() {
    std::vector<double> x;
    for (int i = 0; i < 1190; ++i) x.push_back(-8 + 16.0 * i / 1189);
    const double inf = std::numeric_limits<double>::infinity();
    for (double v : {0.0, -0.0, 1e-30, -1e-30, 50.0, -50.0, inf, -inf}) x.push_back(v);
    x.push_back(std::numeric_limits<double>::quiet_NaN());
    x.resize(1200, 0.5);
    return x;
  }

  template <class T>
  void Compare(const ActivationInfo& info, bool per_channel, bool training) {
    CallSpec spec;
    spec.activation = info.name;
    spec.shape = info.layout == Layout::kLastAxis ? std::vector<int64_t>{100, 12}
                                                  : std::vector<int64_t>{100, 3, 4};
    spec.seed = 1234;
    spec.training = training;
    const int learnable = LearnableParam(info);
    if (per_channel) {
      if (learnable < 0) return;
      const double d = info.params[learnable].default_value;
      spec.params = {{info.params[learnable].name, {d, d * 0.5 + 0.1, d * 1.5 + 0.05}}};
    }
    absl::StatusOr<ActivationCall> call = PrepareCall(spec);
    ASSERT_TRUE(call.ok()) << info.name << ": " << call.status();
    std::vector<double> xd = Inputs();
    const double kElementwise = 16 * std::numeric_limits<T>::epsilon();
    const double kSum = 4096 * std::numeric_limits<T>::epsilon();
    std::vector<T> x(xd.begin(), xd.end()), y_cpu(call->output_size), y_gpu(call->output_size);
    const std::string what =
        absl::StrCat(info.name, sizeof(T) == 4 ? " fp32" : " fp64",
                     per_channel ? " per-channel" : "", training ? " training" : "");
    ASSERT_TRUE(cpu_->Forward(*call, x, absl::MakeSpan(y_cpu)).ok());
    absl::Status s = cuda_->Forward(*call, x, absl::MakeSpan(y_gpu));
    ASSERT_TRUE(s.ok()) << what << ": " << s;
    ExpectClose(y_cpu, y_gpu, what + " forward", kElementwise);

    std::vector<T> dy(call->output_size), dx_cpu(x.size()), dx_gpu(x.size());
    for (size_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<T>(0.5 + 0.25 * std::sin(i));
    ParamGradients g_cpu, g_gpu;
    ASSERT_TRUE(cpu_->Backward(*call, x, dy, absl::MakeSpan(dx_cpu), &g_cpu).ok());
    s = cuda_->Backward(*call, x, dy, absl::MakeSpan(dx_gpu), &g_gpu);
    ASSERT_TRUE(s.ok()) << what << ": " << s;
    ExpectClose(dx_cpu, dx_gpu, what + " backward", kElementwise);
    if (info.backward_from_output) {  // from y_cpu in x's place
      spec.from_output = true;
      absl::StatusOr<ActivationCall> from_y = PrepareCall(spec);
      ASSERT_TRUE(from_y.ok()) << what << ": " << from_y.status();
      ASSERT_TRUE(cpu_->Backward(*from_y, y_cpu, dy, absl::MakeSpan(dx_cpu), nullptr).ok());
      s = cuda_->Backward(*from_y, y_cpu, dy, absl::MakeSpan(dx_gpu), nullptr);
      ASSERT_TRUE(s.ok()) << what << ": " << s;
      ExpectClose(dx_cpu, dx_gpu, what + " backward from the output", kElementwise);
    }
    if (learnable >= 0) {
      // Double sums on both sides, but of T summands that may differ by an ulp each.
      ExpectClose(g_cpu.values[learnable], g_gpu.values[learnable], what + " parameter gradient",
                  kSum);
    }
  }

  // Within `eps` relative to max(1, |want|) (sums: of the summands' scale), NaN where NaN, the
  // same infinity where infinite. `eps` is a multiple of the call's dtype's epsilon, which is not
  // always `V`'s: parameter gradients are double for either dtype.
  template <class V>
  static void ExpectClose(const std::vector<V>& want, const std::vector<V>& got,
                          const std::string& what, double eps) {
    ASSERT_EQ(want.size(), got.size()) << what;
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "]";
        continue;
      }
      if (std::isinf(want[i])) {
        EXPECT_EQ(want[i], got[i]) << what << " [" << i << "]";
        continue;
      }
      EXPECT_NEAR(want[i], got[i], eps * std::max(1.0, std::abs(static_cast<double>(want[i]))))
          << what << " [" << i << "]";
    }
  }

  std::unique_ptr<Backend> cuda_, cpu_;
};

TEST_F(CudaBackendTest, EveryActivationMatchesTheCpuInBothDirectionsAndDtypes) {
  for (const ActivationInfo& info : AllActivations()) {
    for (bool per_channel : {false, true}) {
      for (bool training : {false, true}) {
        Compare<float>(info, per_channel, training);
        Compare<double>(info, per_channel, training);
      }
    }
  }
}

TEST_F(CudaBackendTest, RejectsWhatTheCpuRejectsWithTheSameMessage) {
  absl::StatusOr<ActivationCall> call = PrepareCall({.activation = "relu", .shape = {4}});
  ASSERT_TRUE(call.ok());
  std::vector<float> x(4), y(3);
  absl::Status cpu = cpu_->Forward(*call, x, absl::MakeSpan(y));
  absl::Status gpu = cuda_->Forward(*call, x, absl::MakeSpan(y));
  EXPECT_EQ(cpu, gpu);
}

TEST_F(CudaBackendTest, EmptyTensorsAreFine) {
  absl::StatusOr<ActivationCall> call = PrepareCall({.activation = "gelu", .shape = {0, 5}});
  ASSERT_TRUE(call.ok());
  std::vector<float> none;
  EXPECT_TRUE(cuda_->Forward(*call, none, absl::MakeSpan(none)).ok());
}

}  // namespace
}  // namespace actserve
