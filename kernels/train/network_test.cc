// The backpropagated gradients of every layer against central finite differences of the loss,
// in fp64, for several activations (elementwise, learnable, last-axis) and every loss.
#include "kernels/train/network.h"

#include <cmath>
#include <functional>
#include <memory>

#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/math/philox.h"

namespace actserve::train {
namespace {

using Net = Network<double>;

struct Case {
  const char* hidden;  // hidden layers' activation
  double param;        // a value for its first parameter, NaN for the default
  Loss loss;
};

std::string Name(const Case& c) {
  const char* loss = c.loss == Loss::kMeanSquaredError      ? "mse"
                     : c.loss == Loss::kSoftmaxCrossEntropy ? "softmax_ce"
                                                            : "sigmoid_ce";
  return std::string(c.hidden) + "/" + loss;
}

TrainSpec SpecFor(const Case& c) {
  TrainSpec spec;
  spec.inputs = 3;
  spec.loss = c.loss;
  spec.dtype = DType::kFloat64;
  spec.init = Init::kXavier;
  spec.seed = 7;
  for (int64_t units : {6, 4}) {
    LayerSpec layer{units, {}};
    layer.activation.activation = c.hidden;
    spec.layers.push_back(layer);
  }
  if (!std::isnan(c.param)) {
    const ActivationInfo& info = Info(*FindActivation(c.hidden));
    for (LayerSpec& layer : spec.layers) {
      layer.activation.params = {{info.params[0].name, {c.param}}};
    }
  }
  LayerSpec out{c.loss == Loss::kSoftmaxCrossEntropy ? 3 : 2, {}};
  out.activation.activation = "identity";
  spec.layers.push_back(out);
  return spec;
}

class NetworkGradientTest : public ::testing::TestWithParam<Case> {};

TEST_P(NetworkGradientTest, BackpropagationMatchesCentralDifferences) {
  const Case c = GetParam();
  TrainSpec spec = SpecFor(c);
  std::unique_ptr<Backend> backend = NewCpuBackend({.threads = 1});
  std::vector<LayerWeights> weights = Net::InitialWeights(spec);
  // Nonzero biases, so that every path matters.
  for (size_t l = 0; l < weights.size(); ++l) {
    for (size_t i = 0; i < weights[l].bias.size(); ++i) {
      weights[l].bias[i] = 0.3 * math::NormalSample(11 + l, i);
    }
  }
  absl::StatusOr<Net> net = Net::Create(spec, weights);
  ASSERT_TRUE(net.ok()) << net.status();

  const int64_t rows = 5;
  Net::Matrix x(rows, spec.inputs), y;
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = math::NormalSample(3, i);
  const int64_t outputs = spec.layers.back().units;
  if (c.loss == Loss::kSoftmaxCrossEntropy) {
    y.resize(rows, 1);
    for (int64_t r = 0; r < rows; ++r) y(r, 0) = r % outputs;
  } else {
    y.resize(rows, outputs);
    for (int64_t i = 0; i < y.size(); ++i) {
      double u = math::UniformSample(5, i);
      y.data()[i] = c.loss == Loss::kSigmoidCrossEntropy ? u : 4 * u - 2;
    }
  }

  ASSERT_TRUE(net->Forward(*backend, x, true, 1).ok());
  Net::Matrix grad_out;
  net->ComputeLoss(spec.loss, y, &grad_out);
  Net::Gradients grads;
  ASSERT_TRUE(net->Backward(*backend, x, grad_out, &grads, nullptr).ok());

  auto loss_at = [&]() {
    EXPECT_TRUE(net->Forward(*backend, x, true, 1).ok());
    return net->ComputeLoss(spec.loss, y, nullptr).loss;
  };
  auto check = [&](const std::string& what, double* value, double analytic) {
    const double h = 1e-6 * std::max(1.0, std::abs(*value)), saved = *value;
    *value = saved + h;
    double up = loss_at();
    *value = saved - h;
    double down = loss_at();
    *value = saved;
    double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
        << Name(c) << ": " << what;
  };
  for (size_t l = 0; l < net->layers().size(); ++l) {
    auto& layer = net->layers()[l];
    for (int64_t i = 0; i < layer.w.size(); ++i) {
      check(absl::StrCat("layer ", l, " W[", i, "]"), &layer.w.data()[i], grads.w[l].data()[i]);
    }
    for (int64_t i = 0; i < layer.b.size(); ++i) {
      check(absl::StrCat("layer ", l, " b[", i, "]"), &layer.b.data()[i], grads.b[l].data()[i]);
    }
    for (int64_t i = 0; i < layer.param.size(); ++i) {
      check(absl::StrCat("layer ", l, " activation parameter[", i, "]"), &layer.param.data()[i],
            grads.param[l].data()[i]);
    }
  }
}

const Case kCases[] = {
    {"tanh", NAN, Loss::kMeanSquaredError},     {"tanh", NAN, Loss::kSoftmaxCrossEntropy},
    {"tanh", NAN, Loss::kSigmoidCrossEntropy},  {"sigmoid", NAN, Loss::kSoftmaxCrossEntropy},
    {"relu", NAN, Loss::kSoftmaxCrossEntropy},  {"elu", NAN, Loss::kMeanSquaredError},
    {"gelu", NAN, Loss::kSigmoidCrossEntropy},  {"softplus", NAN, Loss::kMeanSquaredError},
    {"prelu", 0.2, Loss::kSoftmaxCrossEntropy},  // learnable slope
    {"swish", 1.5, Loss::kMeanSquaredError},     // learnable beta
    {"softmax", NAN, Loss::kMeanSquaredError},   // last axis: a Jacobian, not a diagonal
    {"mish", NAN, Loss::kSigmoidCrossEntropy},
};

INSTANTIATE_TEST_SUITE_P(Activations, NetworkGradientTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) {
                           std::string n = Name(info.param);
                           for (char& ch : n) {
                             if (ch == '/') ch = '_';
                           }
                           return n;
                         });

TEST(NetworkTest, InitialWeightsDependOnSeedAndLayerShapeOnly) {
  Case c{"tanh", NAN, Loss::kMeanSquaredError};
  TrainSpec a = SpecFor(c), b = SpecFor(c);
  b.layers[0].activation.activation = "relu";
  EXPECT_EQ(Net::InitialWeights(a)[0].weights, Net::InitialWeights(b)[0].weights);
  b.seed = 8;
  EXPECT_NE(Net::InitialWeights(a)[0].weights, Net::InitialWeights(b)[0].weights);
}

}  // namespace
}  // namespace actserve::train
