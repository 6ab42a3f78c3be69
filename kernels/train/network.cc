#include "kernels/train/network.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "kernels/math/philox.h"
#include "kernels/train/dataset.h"
#include "kernels/train/loss_terms.h"
#include "kernels/util/status_macros.h"

namespace actserve::train {

namespace {

// Eigen 3.4 derives its GEMM blocking from the cache sizes it detects. With a 48 KiB L1 data
// cache (this project's AMD EPYC machines) it picks blocks that run x * W^T (128x784 by 784x256)
// at 25 GFLOP/s instead of 145; declaring a 32 KiB L1 restores the fast kernel for every shape
// the trainer uses (measured with a standalone product benchmark, float, one thread, AVX-512).
// Process-wide and idempotent; L2 and L3 stay as detected.
void TuneEigenBlocking() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::ptrdiff_t l1 = Eigen::l1CacheSize();
    if (l1 > 32 * 1024) {
      Eigen::setCpuCacheSizes(32 * 1024, Eigen::l2CacheSize(), Eigen::l3CacheSize());
    }
  });
}

}  // namespace

void SetBatchRows(ActivationCall& call, int64_t rows) {
  call.input_shape[0] = rows;
  call.output_shape[0] = rows;
  call.input_size = rows * call.input_shape[1];
  call.output_size = rows * call.output_shape[1];
}

absl::StatusOr<std::vector<LayerPlan>> PlanLayers(const TrainSpec& spec) {
  std::vector<LayerPlan> plans;
  int64_t inputs = spec.inputs;
  for (const LayerSpec& ls : spec.layers) {
    LayerPlan plan;
    CallSpec call_spec = ls.activation;
    call_spec.shape = {1, ls.units};
    ACTSERVE_ASSIGN_OR_RETURN(plan.call, PrepareCall(call_spec));
    plan.inputs = inputs;
    plan.units = ls.units;
    plan.outputs = plan.call.output_shape[1];
    plan.learnable = ls.freeze_params || ls.frozen ? -1 : LearnableParam(*plan.call.info);
    plan.frozen = ls.frozen;
    inputs = plan.outputs;
    plans.push_back(std::move(plan));
  }
  return plans;
}

const std::vector<double>& ParamValues(const ActivationCall& call, int param,
                                       const LayerWeights& weights) {
  return weights.activation_param.empty() ? call.params[param] : weights.activation_param;
}

template <typename T>
absl::StatusOr<Network<T>> Network<T>::Create(const TrainSpec& spec,
                                              const std::vector<LayerWeights>& weights) {
  TuneEigenBlocking();
  ACTSERVE_ASSIGN_OR_RETURN(std::vector<LayerPlan> plans, PlanLayers(spec));
  Network net;
  for (size_t l = 0; l < plans.size(); ++l) {
    LayerPlan& plan = plans[l];
    Layer layer;
    static_cast<LayerPlan&>(layer) = std::move(plan);
    const LayerWeights& lw = weights[l];
    layer.w = FromRows(lw.weights, layer.units, layer.inputs);
    layer.b = Eigen::Map<const Eigen::RowVectorXd>(lw.bias.data(), layer.units).cast<T>();
    if (layer.learnable >= 0) {
      const std::vector<double>& p = ParamValues(layer.call, layer.learnable, lw);
      layer.param = Eigen::Map<const Eigen::RowVectorXd>(p.data(), p.size()).cast<T>();
    }
    net.layers_.push_back(std::move(layer));
  }
  return net;
}

template <typename T>
std::vector<LayerWeights> Network<T>::InitialWeights(const TrainSpec& spec) {
  if (spec.init == Init::kExplicit) return spec.initial_weights;
  std::vector<LayerWeights> out(spec.layers.size());
  // The spec has passed Validate: its layers are valid.
  const std::vector<int64_t> outputs = *LayerOutputs(spec);
  int64_t fan_in = spec.inputs;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    int64_t fan_out = spec.layers[l].units;
    // Each layer draws from its own stream, so networks that share a layer's shape and seed
    // (an activation sweep) share its initial weights.
    uint64_t seed = DeriveSeed(spec.seed, 1000 + l);
    LayerWeights& lw = out[l];
    lw.weights.resize(fan_out * fan_in);
    lw.bias.assign(fan_out, 0.0);
    for (int64_t i = 0; i < fan_out * fan_in; ++i) {
      double v;
      switch (spec.init) {
        case Init::kXavier: {
          double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
          v = a * (2 * math::UniformSample(seed, i) - 1);
          break;
        }
        case Init::kHe:
          v = std::sqrt(2.0 / static_cast<double>(fan_in)) * math::NormalSample(seed, i);
          break;
        case Init::kLecun:
          v = std::sqrt(1.0 / static_cast<double>(fan_in)) * math::NormalSample(seed, i);
          break;
        default: {  // kUniform
          double a =
              spec.init_scale > 0 ? spec.init_scale : 1.0 / std::sqrt(static_cast<double>(fan_in));
          v = a * (2 * math::UniformSample(seed, i) - 1);
          break;
        }
      }
      lw.weights[i] = v;
    }
    fan_in = outputs[l];  // maxout and glu narrow the next layer's fan-in
  }
  return out;
}

template <typename T>
std::vector<LayerWeights> Network<T>::Weights() const {
  std::vector<LayerWeights> out(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    out[l].weights.assign(layer.w.data(), layer.w.data() + layer.w.size());
    out[l].bias.assign(layer.b.data(), layer.b.data() + layer.b.size());
    out[l].activation_param.assign(layer.param.data(), layer.param.data() + layer.param.size());
  }
  return out;
}

template <typename T>
absl::Status Network<T>::Forward(Backend& backend, const Matrix& x, bool training, uint64_t seed) {
  const Matrix* in = &x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    Layer& layer = layers_[l];
    layer.z.resize(x.rows(), layer.units);
    layer.z.noalias() = *in * layer.w.transpose();
    layer.z.rowwise() += layer.b;
    layer.a.resize(x.rows(), layer.outputs);
    SetBatchRows(layer.call, x.rows());
    layer.call.training = training;
    layer.call.seed = DeriveSeed(seed, l);
    if (layer.learnable >= 0) {
      layer.call.params[layer.learnable].assign(layer.param.data(),
                                                layer.param.data() + layer.param.size());
    }
    ACTSERVE_RETURN_IF_ERROR(backend.Forward(layer.call,
                                             absl::Span<const T>(layer.z.data(), layer.z.size()),
                                             absl::Span<T>(layer.a.data(), layer.a.size())));
    in = &layer.a;
  }
  return absl::OkStatus();
}

template <typename T>
BatchLoss Network<T>::ComputeLoss(Loss loss, const Matrix& targets, Matrix* grad) const {
  const Matrix& out = output();
  const int64_t rows = out.rows(), cols = out.cols();
  BatchLoss value;
  if (grad != nullptr) grad->resize(rows, cols);
  // Targets: one per output, or one per row for a single output.
  auto target = [&](int64_t r, int64_t c) { return targets(r, targets.cols() == 1 ? 0 : c); };
  auto grad_at = [&](int64_t r, int64_t c) { return grad ? &(*grad)(r, c) : nullptr; };
  double sum = 0;
  bool correct = false;
  switch (loss) {
    case Loss::kMeanSquaredError: {
      const double n = static_cast<double>(rows * cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          sum += SquaredErrorTerm(out(r, c), target(r, c), n, grad_at(r, c));
        }
      }
      value.loss = sum / n;
      break;
    }
    case Loss::kSoftmaxCrossEntropy: {
      for (int64_t r = 0; r < rows; ++r) {
        sum += SoftmaxCrossEntropyRow(&out(r, 0), cols, static_cast<int64_t>(targets(r, 0)),
                                      static_cast<double>(rows), grad_at(r, 0), &correct);
        value.correct += correct;
      }
      value.predicted = rows;
      value.loss = sum / static_cast<double>(rows);
      break;
    }
    case Loss::kSigmoidCrossEntropy: {
      const double n = static_cast<double>(rows * cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          sum += SigmoidCrossEntropyTerm(out(r, c), target(r, c), n, grad_at(r, c), &correct);
          value.correct += correct;
        }
      }
      value.predicted = rows * cols;
      value.loss = sum / n;
      break;
    }
  }
  return value;
}

template <typename T>
absl::Status Network<T>::Backward(Backend& backend, const Matrix& x, const Matrix& grad_output,
                                  Gradients* grads, std::vector<Matrix>* fprime) {
  const size_t n = layers_.size();
  grads->w.resize(n);
  grads->b.resize(n);
  grads->param.resize(n);
  if (fprime != nullptr) fprime->resize(n);
  const Matrix* delta = &grad_output;  // dLoss/d(a) of the current layer
  for (size_t i = n; i-- > 0;) {
    Layer& layer = layers_[i];
    const int64_t rows = layer.z.rows();
    SetBatchRows(layer.call, rows);
    layer.dz.resize(rows, layer.units);
    ParamGradients* pg = layer.learnable >= 0 ? &param_grads_ : nullptr;
    ACTSERVE_RETURN_IF_ERROR(backend.Backward(layer.call,
                                              absl::Span<const T>(layer.z.data(), layer.z.size()),
                                              absl::Span<const T>(delta->data(), delta->size()),
                                              absl::Span<T>(layer.dz.data(), layer.dz.size()), pg));
    if (pg != nullptr) {
      const std::vector<double>& g = pg->values[layer.learnable];
      grads->param[i] = Eigen::Map<const Eigen::RowVectorXd>(g.data(), g.size()).cast<T>();
    }
    if (fprime != nullptr) {
      Matrix& fp = (*fprime)[i];
      if (layer.call.info->layout == Layout::kElementwise) {
        if (layer.ones.rows() != rows || layer.ones.cols() != layer.units) {
          layer.ones.setOnes(rows, layer.units);
        }
        fp.resize(rows, layer.units);
        ACTSERVE_RETURN_IF_ERROR(
            backend.Backward(layer.call, absl::Span<const T>(layer.z.data(), layer.z.size()),
                             absl::Span<const T>(layer.ones.data(), layer.ones.size()),
                             absl::Span<T>(fp.data(), fp.size()), nullptr));
      } else {
        fp.resize(0, 0);
      }
    }
    const Matrix& in = i == 0 ? x : layers_[i - 1].a;
    grads->w[i].noalias() = layer.dz.transpose() * in;
    grads->b[i] = layer.dz.colwise().sum();
    if (i > 0) {
      layer.d_input.resize(rows, layer.inputs);
      layer.d_input.noalias() = layer.dz * layer.w;
      delta = &layer.d_input;
    }
  }
  return absl::OkStatus();
}

template class Network<float>;
template class Network<double>;

}  // namespace actserve::train
