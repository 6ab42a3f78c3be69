// Analytic derivatives and learnable-parameter gradients against central finite differences
// in fp64, for every catalog entry, away from kinks.
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"

namespace actserve {
namespace {

// Inputs on [-4, 4] that stay away from every kink in the catalog (0, +-0.5, +-1, +-2.5, +-3,
// 6 and the thresholds) by more than the step.
std::vector<double> Inputs() {
  std::vector<double> x;
  for (double v = -4.0; v <= 4.0; v += 0.173) x.push_back(v + 0.0137);
  return x;
}

class GradientTest : public ::testing::TestWithParam<int> {
 protected:
  const ActivationInfo& info() const { return AllActivations()[GetParam()]; }

  // Forward with the learnable parameter (if any) set to `p`, as a flat vector.
  std::vector<double> Eval(const std::vector<double>& x, std::vector<int64_t> shape,
                           std::vector<std::pair<std::string, std::vector<double>>> params) {
    auto call = PrepareCall(
        {.activation = info().name, .shape = shape, .params = params, .seed = 3, .training = true});
    EXPECT_TRUE(call.ok()) << call.status();
    std::vector<double> y(call->output_size);
    EXPECT_TRUE(backend_->Forward(*call, x, absl::MakeSpan(y)).ok());
    return y;
  }

  std::unique_ptr<Backend> backend_ = NewCpuBackend({.threads = 1});
};

// The vector-Jacobian product dx = J^T dy matches (f(x + h e_i) - f(x - h e_i)) . dy / 2h.
TEST_P(GradientTest, BackwardMatchesCentralDifferences) {
  std::vector<double> xs = Inputs();
  const int64_t row = 8;
  const int64_t rows = static_cast<int64_t>(xs.size()) / row;
  std::vector<double> x(xs.begin(), xs.begin() + rows * row);
  // Shuffle rows so that last-axis functions see mixed values.
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) x[i] = xs[(i * 17) % x.size()];
  std::vector<int64_t> shape = {rows, row};
  auto call = PrepareCall({.activation = info().name, .shape = shape, .seed = 3, .training = true});
  ASSERT_TRUE(call.ok());
  std::vector<double> dy(call->output_size);
  for (size_t j = 0; j < dy.size(); ++j) dy[j] = std::cos(1.3 * j);
  std::vector<double> dx(x.size());
  ParamGradients grads;
  ASSERT_TRUE(backend_->Backward(*call, x, dy, absl::MakeSpan(dx), &grads).ok());
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> xp = x, xm = x;
    xp[i] += h;
    xm[i] -= h;
    std::vector<double> yp = Eval(xp, shape, {}), ym = Eval(xm, shape, {});
    double fd = 0;
    for (size_t j = 0; j < dy.size(); ++j) fd += (yp[j] - ym[j]) * dy[j];
    fd /= 2 * h;
    EXPECT_NEAR(dx[i], fd, 1e-6 * (1 + std::fabs(fd))) << info().name << " at x = " << x[i];
  }
}

// sum(dy * df/dp) matches the central difference of sum(dy * f) in p, with p scalar and per
// channel.
class ParamGradientTest : public GradientTest {};

TEST_P(ParamGradientTest, LearnableParameterGradientMatchesCentralDifferences) {
  const int k = LearnableParam(info());
  ASSERT_GE(k, 0);
  const std::string pname = info().params[k].name;
  std::vector<double> xs = Inputs();
  const int64_t channels = 3, inner = 5;
  std::vector<int64_t> shape = {2, channels, inner};
  std::vector<double> x(2 * channels * inner);
  for (size_t i = 0; i < x.size(); ++i) x[i] = xs[(i * 7) % xs.size()];
  std::vector<double> dy(x.size());
  for (size_t j = 0; j < dy.size(); ++j) dy[j] = std::sin(0.7 * j + 0.3);
  std::vector<double> p = {0.8, 1.1, 1.4};
  auto call = PrepareCall({.activation = info().name, .shape = shape, .params = {{pname, p}}});
  ASSERT_TRUE(call.ok()) << call.status();
  std::vector<double> dx(x.size());
  ParamGradients grads;
  ASSERT_TRUE(backend_->Backward(*call, x, dy, absl::MakeSpan(dx), &grads).ok());
  ASSERT_EQ(grads.values[k].size(), 3u);
  const double h = 1e-6;
  for (int c = 0; c < channels; ++c) {
    std::vector<double> pp = p, pm = p;
    pp[c] += h;
    pm[c] -= h;
    std::vector<double> yp = Eval(x, shape, {{pname, pp}}), ym = Eval(x, shape, {{pname, pm}});
    double fd = 0;
    for (size_t j = 0; j < dy.size(); ++j) fd += (yp[j] - ym[j]) * dy[j];
    fd /= 2 * h;
    EXPECT_NEAR(grads.values[k][c], fd, 1e-6 * (1 + std::fabs(fd)))
        << info().name << " channel " << c;
  }
  // The scalar form sums over every element.
  auto scalar =
      PrepareCall({.activation = info().name, .shape = shape, .params = {{pname, {1.1}}}});
  ASSERT_TRUE(scalar.ok());
  ASSERT_TRUE(backend_->Backward(*scalar, x, dy, absl::MakeSpan(dx), &grads).ok());
  std::vector<double> yp = Eval(x, shape, {{pname, {1.1 + h}}}),
                      ym = Eval(x, shape, {{pname, {1.1 - h}}});
  double fd = 0;
  for (size_t j = 0; j < dy.size(); ++j) fd += (yp[j] - ym[j]) * dy[j];
  fd /= 2 * h;
  ASSERT_EQ(grads.values[k].size(), 1u);
  EXPECT_NEAR(grads.values[k][0], fd, 1e-6 * (1 + std::fabs(fd))) << info().name;
}

std::string EntryName(const ::testing::TestParamInfo<int>& i) {
  return AllActivations()[i.param].name;
}

std::vector<int> LearnableEntries() {
  std::vector<int> ids;
  for (int i = 0; i < kNumActivations; ++i) {
    if (LearnableParam(AllActivations()[i]) >= 0) ids.push_back(i);
  }
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Catalog, GradientTest, ::testing::Range(0, kNumActivations), EntryName);
INSTANTIATE_TEST_SUITE_P(Catalog, ParamGradientTest, ::testing::ValuesIn(LearnableEntries()),
                         EntryName);

}  // namespace
}  // namespace actserve
