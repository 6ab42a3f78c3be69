// Optimizer<T>: PyTorch's update rules for one job's parameter tensors (torch.optim.SGD with
// momentum and nesterov, torch.optim.Adam), and the learning-rate schedules. Not thread-safe.
#ifndef ACTSERVE_KERNELS_TRAIN_OPTIMIZER_H_
#define ACTSERVE_KERNELS_TRAIN_OPTIMIZER_H_

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "absl/types/span.h"
#include "kernels/train/spec.h"

namespace actserve::train {

// The learning rate of epoch `epoch` (0-based) of `epochs`.
inline double LearningRate(const OptimizerSpec& opt, int64_t epoch, int64_t epochs) {
  switch (opt.schedule) {
    case Schedule::kStep:
      return opt.learning_rate * std::pow(opt.gamma, static_cast<double>(epoch / opt.step_epochs));
    case Schedule::kCosine:
      return opt.min_lr + (opt.learning_rate - opt.min_lr) *
                              (1 + std::cos(std::numbers::pi * epoch / epochs)) / 2;
    default:
      return opt.learning_rate;
  }
}

template <typename T>
class Optimizer {
 public:
  // `sizes`: the element count of every tensor this optimizer updates, in the order Step's
  // `tensor` indexes them.
  Optimizer(const OptimizerSpec& spec, const std::vector<int64_t>& sizes) : spec_(spec) {
    bool needs_m = spec.kind != OptimizerKind::kSgd;
    for (int64_t n : sizes) {
      m_.emplace_back(needs_m ? n : 0, T(0));
      v_.emplace_back(spec.kind == OptimizerKind::kAdam ? n : 0, T(0));
    }
  }

  // Call once per training step, before the Updates of that step.
  void BeginStep() { ++t_; }

  // p -= update(g) for tensor `tensor`; `decay` adds decay * p to g first (L2 regularisation).
  void Update(int tensor, absl::Span<T> p, absl::Span<const T> g, T lr, T decay) {
    std::vector<T>& m = m_[tensor];
    std::vector<T>& v = v_[tensor];
    const T mu = static_cast<T>(spec_.momentum);
    switch (spec_.kind) {
      case OptimizerKind::kSgd:
        for (size_t i = 0; i < p.size(); ++i) p[i] -= lr * (g[i] + decay * p[i]);
        break;
      case OptimizerKind::kMomentum:
      case OptimizerKind::kNesterov: {
        const bool nesterov = spec_.kind == OptimizerKind::kNesterov;
        for (size_t i = 0; i < p.size(); ++i) {
          T gi = g[i] + decay * p[i];
          m[i] = t_ == 1 ? gi : mu * m[i] + gi;  // PyTorch: the first step takes the gradient
          p[i] -= lr * (nesterov ? gi + mu * m[i] : m[i]);
        }
        break;
      }
      case OptimizerKind::kAdam: {
        const T b1 = static_cast<T>(spec_.beta1), b2 = static_cast<T>(spec_.beta2);
        const T c1 = static_cast<T>(1 - std::pow(spec_.beta1, static_cast<double>(t_)));
        const T c2 = static_cast<T>(std::sqrt(1 - std::pow(spec_.beta2, static_cast<double>(t_))));
        const T eps = static_cast<T>(spec_.epsilon);
        for (size_t i = 0; i < p.size(); ++i) {
          T gi = g[i] + decay * p[i];
          m[i] = b1 * m[i] + (1 - b1) * gi;
          v[i] = b2 * v[i] + (1 - b2) * gi * gi;
          p[i] -= (lr / c1) * m[i] / (std::sqrt(v[i]) / c2 + eps);
        }
        break;
      }
    }
  }

  size_t state_bytes() const {
    size_t n = 0;
    for (size_t i = 0; i < m_.size(); ++i) n += (m_[i].size() + v_[i].size()) * sizeof(T);
    return n;
  }

 private:
  OptimizerSpec spec_;
  int64_t t_ = 0;
  std::vector<std::vector<T>> m_, v_;
};

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_OPTIMIZER_H_
