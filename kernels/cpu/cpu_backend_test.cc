// Behaviour of the CPU backend beyond accuracy: shapes, per-channel parameters, threads,
// stochastic functions, NaN propagation and buffer checks, over every catalog entry.
#include "kernels/cpu/cpu_backend.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/math/philox.h"

namespace actserve {
namespace {

std::vector<double> Ramp(int64_t n, double lo, double hi) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = lo + (hi - lo) * ((i * 7919) % n) / std::max<int64_t>(1, n - 1);
  return v;
}

CallSpec SpecFor(const ActivationInfo& info, std::vector<int64_t> shape) {
  return {.activation = info.name, .shape = std::move(shape), .seed = 5, .training = true};
}

// Forward and backward on 1 thread and on 2 threads with a low threshold give identical bits,
// for every function (this also covers every split point and the partial tail vectors).
TEST(CpuBackendTest, ThreadCountDoesNotChangeResults) {
  auto one = NewCpuBackend({.threads = 1});
  auto two = NewCpuBackend({.threads = 2, .parallel_threshold = 1});
  for (const ActivationInfo& info : AllActivations()) {
    auto call = PrepareCall(SpecFor(info, {37, 64 + 13 * 2}));
    ASSERT_TRUE(call.ok()) << info.name << ": " << call.status();
    std::vector<double> x = Ramp(call->input_size, -6, 6), dy = Ramp(call->output_size, -1, 1);
    std::vector<double> y1(call->output_size), y2(call->output_size);
    std::vector<double> dx1(call->input_size), dx2(call->input_size);
    ParamGradients g1, g2;
    ASSERT_TRUE(one->Forward(*call, x, absl::MakeSpan(y1)).ok());
    ASSERT_TRUE(two->Forward(*call, x, absl::MakeSpan(y2)).ok());
    ASSERT_TRUE(one->Backward(*call, x, dy, absl::MakeSpan(dx1), &g1).ok());
    ASSERT_TRUE(two->Backward(*call, x, dy, absl::MakeSpan(dx2), &g2).ok());
    EXPECT_EQ(y1, y2) << info.name;
    EXPECT_EQ(dx1, dx2) << info.name;
    for (int k = 0; k < kMaxParams; ++k) {
      ASSERT_EQ(g1.values[k].size(), g2.values[k].size()) << info.name;
      for (size_t i = 0; i < g1.values[k].size(); ++i) {
        EXPECT_NEAR(g1.values[k][i], g2.values[k][i], 1e-9 * (1 + std::fabs(g1.values[k][i])))
            << info.name;
      }
    }
  }
}

// Buffers at several float offsets within a cache line, with and without non-temporal stores (and
// on two threads), give the same bits, for every function: streaming sweeps store normally up to
// the output's first 64-byte boundary and whole aligned vectors from there.
TEST(CpuBackendTest, BufferAlignmentAndStreamingDoNotChangeResults) {
  auto plain = NewCpuBackend({.threads = 1, .streaming_store_bytes = size_t{1} << 40});
  auto streaming =
      NewCpuBackend({.threads = 2, .parallel_threshold = 1, .streaming_store_bytes = 1});
  const int64_t n = 3 * 4098;  // rows of 4098: even, as glu and maxout (k = 2) need
  auto same = [](float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  for (const ActivationInfo& info : AllActivations()) {
    auto call = PrepareCall(SpecFor(info, {3, n / 3}));
    ASSERT_TRUE(call.ok()) << info.name << ": " << call.status();
    const int64_t in = call->input_size, out = call->output_size;
    std::vector<float> x(in), dy(out), y(out + 16), dx(in + 16);
    for (int64_t i = 0; i < in; ++i) x[i] = static_cast<float>(-6 + 12.0 * ((i * 7919) % in) / in);
    for (int64_t i = 0; i < out; ++i)
      dy[i] = static_cast<float>(-1 + 2.0 * ((i * 104729) % out) / out);
    // The reference: one thread, normal stores, the buffers as allocated.
    std::vector<float> y0(out), dx0(in);
    ASSERT_TRUE(plain->Forward(*call, x, absl::MakeSpan(y0)).ok());
    ASSERT_TRUE(plain->Backward(*call, x, dy, absl::MakeSpan(dx0), nullptr).ok());
    for (Backend* backend : {plain.get(), streaming.get()}) {
      for (int offset : {0, 1, 5, 15}) {
        // The same values, shifted so that they start `offset` floats into a cache line.
        std::vector<float> xs(in + 16), dys(out + 16);
        std::copy(x.begin(), x.end(), xs.begin() + offset);
        std::copy(dy.begin(), dy.end(), dys.begin() + offset);
        absl::Span<const float> xv(xs.data() + offset, in), dyv(dys.data() + offset, out);
        ASSERT_TRUE(backend->Forward(*call, xv, absl::MakeSpan(y.data() + offset, out)).ok());
        ASSERT_TRUE(
            backend->Backward(*call, xv, dyv, absl::MakeSpan(dx.data() + offset, in), nullptr)
                .ok());
        const std::string where = std::string(info.name) + " offset " + std::to_string(offset);
        EXPECT_TRUE(std::equal(y0.begin(), y0.end(), y.begin() + offset, same)) << where << " fwd";
        EXPECT_TRUE(std::equal(dx0.begin(), dx0.end(), dx.begin() + offset, same))
            << where << " bwd";
      }
    }
  }
}

// maxout against a plain loop, for group sizes with their own vector paths (k = 2 permutes, other
// k strided loads) and group counts that leave partial vectors, with ties (the first arg max gets
// the gradient) and NaNs (the first NaN wins), in both dtypes.
template <class T>
void ExpectMaxoutMatchesALoop(Backend& backend) {
  for (int64_t k : {1, 2, 3, 5, 16, 37}) {
    for (int64_t groups : {1, 7, 16, 17, 40}) {
      const int64_t rows = 3, n = groups * k;
      auto call = PrepareCall({.activation = "maxout",
                               .shape = {rows, n},
                               .params = {{"k", {static_cast<double>(k)}}}});
      ASSERT_TRUE(call.ok()) << call.status();
      std::vector<T> x(rows * n), dy(rows * groups), y(rows * groups), dx(rows * n);
      for (int64_t i = 0; i < rows * n; ++i) x[i] = static_cast<T>((i * 7919) % 7 / 3) - 1;  // ties
      for (int64_t i = 0; i < rows * n; i += 11) x[i] = NAN;
      for (int64_t j = 0; j < rows * groups; ++j) dy[j] = static_cast<T>(j + 1);
      ASSERT_TRUE(backend.Forward(*call, x, absl::MakeSpan(y)).ok());
      ASSERT_TRUE(backend.Backward(*call, x, dy, absl::MakeSpan(dx), nullptr).ok());
      for (int64_t j = 0; j < rows * groups; ++j) {
        const T* g = x.data() + j * k;
        int64_t best = 0;
        for (int64_t i = 1; i < k && !std::isnan(g[best]); ++i) {
          if (std::isnan(g[i]) || g[i] > g[best]) best = i;
        }
        const std::string where = "k " + std::to_string(k) + " groups " + std::to_string(groups) +
                                  " group " + std::to_string(j);
        if (std::isnan(g[best])) {
          EXPECT_TRUE(std::isnan(y[j])) << where;
        } else {
          EXPECT_EQ(y[j], g[best]) << where;
        }
        for (int64_t i = 0; i < k; ++i) {
          // A NaN entry's dx is NaN (PropagateRowNans).
          if (std::isnan(g[i])) {
            EXPECT_TRUE(std::isnan(dx[j * k + i])) << where << " entry " << i;
          } else {
            EXPECT_EQ(dx[j * k + i], i == best ? dy[j] : T(0)) << where << " entry " << i;
          }
        }
      }
    }
  }
}

TEST(CpuBackendTest, MaxoutMatchesAPlainLoopForEveryGroupSize) {
  auto backend = NewCpuBackend({.threads = 1});
  ExpectMaxoutMatchesALoop<float>(*backend);
  ExpectMaxoutMatchesALoop<double>(*backend);
}

// Where the catalog allows it, backward from the forward's output y equals backward from x: the
// same dx to rounding, in both dtypes, rows with large and tiny entries included.
template <class T>
void ExpectBackwardFromOutputMatches(Backend& backend, const ActivationInfo& info, double tol) {
  auto from_x = PrepareCall({.activation = info.name, .shape = {5, 67}});
  auto from_y = PrepareCall({.activation = info.name, .shape = {5, 67}, .from_output = true});
  ASSERT_TRUE(from_x.ok() && from_y.ok()) << info.name;
  std::vector<double> xd = Ramp(from_x->input_size, -30, 30),
                      dyd = Ramp(from_x->output_size, -1, 1);
  std::vector<T> x(xd.begin(), xd.end()), dy(dyd.begin(), dyd.end());
  std::vector<T> y(from_x->output_size), dx(x.size()), dx_y(x.size());
  ASSERT_TRUE(backend.Forward(*from_x, x, absl::MakeSpan(y)).ok());
  ASSERT_TRUE(backend.Backward(*from_x, x, dy, absl::MakeSpan(dx), nullptr).ok());
  ASSERT_TRUE(backend.Backward(*from_y, y, dy, absl::MakeSpan(dx_y), nullptr).ok());
  for (size_t i = 0; i < dx.size(); ++i) {
    EXPECT_NEAR(dx_y[i], dx[i], tol * (1 + std::fabs(dx[i]))) << info.name << " element " << i;
  }
}

TEST(CpuBackendTest, BackwardFromTheOutputMatchesBackwardFromTheInput) {
  auto backend = NewCpuBackend({.threads = 1});
  int checked = 0;
  for (const ActivationInfo& info : AllActivations()) {
    if (!info.backward_from_output) continue;
    ExpectBackwardFromOutputMatches<double>(*backend, info, 1e-13);
    ExpectBackwardFromOutputMatches<float>(*backend, info, 1e-5);
    ++checked;
  }
  EXPECT_GE(checked, 5) << "softmax, softmin, log_softmax, sigmoid and tanh have it";
}

// A NaN input gives NaN in y and dx at that element, and in the parameter gradient it enters.
TEST(CpuBackendTest, NanInGivesNanOut) {
  auto backend = NewCpuBackend({.threads = 1});
  for (const ActivationInfo& info : AllActivations()) {
    auto call = PrepareCall(SpecFor(info, {2, 8}));
    ASSERT_TRUE(call.ok());
    std::vector<float> x(16, 0.5f), dy(call->output_size, 1.0f);
    x[3] = NAN;
    std::vector<float> y(call->output_size), dx(16);
    ParamGradients grads;
    ASSERT_TRUE(backend->Forward(*call, x, absl::MakeSpan(y)).ok());
    ASSERT_TRUE(backend->Backward(*call, x, dy, absl::MakeSpan(dx), &grads).ok());
    // Element-wise: y[3]. Last axis: some output of row 0 (which one depends on the function).
    bool nan_out = std::isnan(y[3]);
    for (int64_t j = 0; info.layout == Layout::kLastAxis && j < call->output_shape.back(); ++j) {
      nan_out |= std::isnan(y[j]);
    }
    EXPECT_TRUE(nan_out) << info.name;
    EXPECT_TRUE(std::isnan(dx[3])) << info.name;
    int k = LearnableParam(info);
    if (k >= 0) EXPECT_TRUE(std::isnan(grads.values[k][0])) << info.name;
  }
}

TEST(CpuBackendTest, PerChannelParametersApplyAlongAxisOne) {
  auto backend = NewCpuBackend({.threads = 1});
  auto call =
      PrepareCall({.activation = "prelu", .shape = {2, 3, 2}, .params = {{"a", {0.1, 0.2, 0.3}}}});
  ASSERT_TRUE(call.ok());
  std::vector<double> x(12, -1.0), y(12), dy(12, 1.0), dx(12);
  ASSERT_TRUE(backend->Forward(*call, x, absl::MakeSpan(y)).ok());
  EXPECT_EQ(y, (std::vector<double>{-0.1, -0.1, -0.2, -0.2, -0.3, -0.3, -0.1, -0.1, -0.2, -0.2,
                                    -0.3, -0.3}));
  ParamGradients grads;
  ASSERT_TRUE(backend->Backward(*call, x, dy, absl::MakeSpan(dx), &grads).ok());
  // df/da = x = -1 for every element; each channel has 4 elements.
  EXPECT_EQ(grads.values[0], (std::vector<double>{-4, -4, -4}));
}

TEST(CpuBackendTest, StochasticFunctionsAreReproducibleFromTheSeed) {
  auto backend = NewCpuBackend({.threads = 2, .parallel_threshold = 1});
  auto a = PrepareCall({.activation = "rrelu", .shape = {1000}, .seed = 9, .training = true});
  auto b = PrepareCall({.activation = "rrelu", .shape = {1000}, .seed = 10, .training = true});
  auto eval = PrepareCall({.activation = "rrelu", .shape = {1000}, .seed = 9, .training = false});
  std::vector<float> x(1000, -1.0f), ya(1000), ya2(1000), yb(1000), ye(1000);
  ASSERT_TRUE(backend->Forward(*a, x, absl::MakeSpan(ya)).ok());
  ASSERT_TRUE(backend->Forward(*a, x, absl::MakeSpan(ya2)).ok());
  ASSERT_TRUE(backend->Forward(*b, x, absl::MakeSpan(yb)).ok());
  ASSERT_TRUE(backend->Forward(*eval, x, absl::MakeSpan(ye)).ok());
  EXPECT_EQ(ya, ya2);
  EXPECT_NE(ya, yb);
  for (int i = 0; i < 1000; ++i) {
    float slope = static_cast<float>(1.0 / 8 + (1.0 / 3 - 1.0 / 8) * math::UniformSample(9, i));
    EXPECT_NEAR(-ya[i], slope, 1e-6) << i;
    EXPECT_NEAR(-ye[i], (1.0 / 8 + 1.0 / 3) / 2, 1e-6);
  }
  // Backward reproduces forward's slopes: dx = slope for x < 0.
  std::vector<float> dy(1000, 1.0f), dx(1000);
  ASSERT_TRUE(backend->Backward(*a, x, dy, absl::MakeSpan(dx), nullptr).ok());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(dx[i], -ya[i]);
}

TEST(CpuBackendTest, RejectsBuffersThatDoNotMatchTheCall) {
  auto backend = NewCpuBackend();
  auto call = PrepareCall({.activation = "tanh", .shape = {4}});
  std::vector<float> x(4), y(3), dy(5), dx(4);
  EXPECT_EQ(backend->Forward(*call, x, absl::MakeSpan(y)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend->Backward(*call, x, dy, absl::MakeSpan(dx), nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CpuBackendTest, EmptyTensorsGiveEmptyResults) {
  auto backend = NewCpuBackend();
  for (const ActivationInfo& info : AllActivations()) {
    auto call = PrepareCall(SpecFor(info, {0, 4}));
    ASSERT_TRUE(call.ok()) << info.name;
    std::vector<double> none;
    ParamGradients grads;
    EXPECT_TRUE(backend->Forward(*call, none, absl::MakeSpan(none)).ok()) << info.name;
    EXPECT_TRUE(backend->Backward(*call, none, none, absl::MakeSpan(none), &grads).ok());
  }
}

}  // namespace
}  // namespace actserve
