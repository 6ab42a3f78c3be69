// Optimizer<T>: PyTorch's update rules (update_rule.h) for one job's parameter tensors on the host,
// with their moment buffers and step count, and the learning-rate schedules. Not thread-safe.
#ifndef ACTSERVE_KERNELS_TRAIN_OPTIMIZER_H_
#define ACTSERVE_KERNELS_TRAIN_OPTIMIZER_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "absl/types/span.h"
#include "kernels/train/spec.h"
#include "kernels/train/update_rule.h"

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
  // `tensor` indexes them. Empty where the moments live elsewhere (the CUDA engine keeps them on
  // the device and uses BeginStep and Rule alone).
  Optimizer(const OptimizerSpec& spec, const std::vector<int64_t>& sizes) : spec_(spec) {
    const int moments = MomentsPerElement(spec.kind);
    for (int64_t n : sizes) {
      m_.emplace_back(moments >= 1 ? n : 0, T(0));
      v_.emplace_back(moments >= 2 ? n : 0, T(0));
    }
  }

  // Call once per training step, before the Updates of that step.
  void BeginStep() { ++t_; }

  // The rule of the current step for learning rate `lr` and L2 coefficient `decay` (the same
  // for every element of a tensor; the CUDA engine applies it on the device).
  UpdateRule<T> Rule(T lr, T decay) const {
    UpdateRule<T> r{.kind = spec_.kind, .lr = lr, .decay = decay};
    r.momentum = static_cast<T>(spec_.momentum);
    r.first_step = t_ == 1;
    if (spec_.kind == OptimizerKind::kAdam) {
      r.beta1 = static_cast<T>(spec_.beta1);
      r.beta2 = static_cast<T>(spec_.beta2);
      r.epsilon = static_cast<T>(spec_.epsilon);
      r.bias1 = static_cast<T>(1 - std::pow(spec_.beta1, static_cast<double>(t_)));
      r.bias2 = static_cast<T>(std::sqrt(1 - std::pow(spec_.beta2, static_cast<double>(t_))));
    }
    return r;
  }

  // p -= update(g) for tensor `tensor`; `decay` adds decay * p to g first (L2 regularisation).
  void Update(int tensor, absl::Span<T> p, absl::Span<const T> g, T lr, T decay) {
    const UpdateRule<T> rule = Rule(lr, decay);
    T* m = m_[tensor].data();
    T* v = v_[tensor].data();
    T unused = 0;
    const size_t n = p.size();
    switch (spec_.kind) {
      case OptimizerKind::kSgd:
        for (size_t i = 0; i < n; ++i)
          rule.template ApplyAs<OptimizerKind::kSgd>(p[i], g[i], unused, unused);
        break;
      case OptimizerKind::kMomentum:
        for (size_t i = 0; i < n; ++i)
          rule.template ApplyAs<OptimizerKind::kMomentum>(p[i], g[i], m[i], unused);
        break;
      case OptimizerKind::kNesterov:
        for (size_t i = 0; i < n; ++i)
          rule.template ApplyAs<OptimizerKind::kNesterov>(p[i], g[i], m[i], unused);
        break;
      case OptimizerKind::kAdam:
        for (size_t i = 0; i < n; ++i)
          rule.template ApplyAs<OptimizerKind::kAdam>(p[i], g[i], m[i], v[i]);
        break;
    }
  }

  // The moment buffers `kind` keeps per element: 0 (SGD), 1 (momentum, Nesterov), 2 (Adam).
  static int MomentsPerElement(OptimizerKind kind) {
    return kind == OptimizerKind::kSgd ? 0 : kind == OptimizerKind::kAdam ? 2 : 1;
  }

  // The step count and moments, in double (exact for float); Restore takes what Save gave for an
  // optimizer of the same spec and sizes, false otherwise.
  void Save(int64_t* steps, std::vector<std::vector<double>>* first,
            std::vector<std::vector<double>>* second) const {
    *steps = t_;
    first->assign(m_.size(), {});
    second->assign(v_.size(), {});
    for (size_t i = 0; i < m_.size(); ++i) {
      (*first)[i].assign(m_[i].begin(), m_[i].end());
      (*second)[i].assign(v_[i].begin(), v_[i].end());
    }
  }
  bool Restore(int64_t steps, const std::vector<std::vector<double>>& first,
               const std::vector<std::vector<double>>& second) {
    if (steps < 0 || first.size() != m_.size() || second.size() != v_.size()) return false;
    for (size_t i = 0; i < m_.size(); ++i) {
      if (first[i].size() != m_[i].size() || second[i].size() != v_[i].size()) return false;
    }
    t_ = steps;
    for (size_t i = 0; i < m_.size(); ++i) {
      std::copy(first[i].begin(), first[i].end(), m_[i].begin());
      std::copy(second[i].begin(), second[i].end(), v_[i].begin());
    }
    return true;
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
