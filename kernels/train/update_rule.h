// UpdateRule<T>: one optimizer step applied to one element, the arithmetic the CPU optimizer and
// the CUDA kernels share (PyTorch's torch.optim.SGD with momentum and nesterov, torch.optim.Adam).
// Host and device code; no dependencies beyond the math primitives.
#ifndef ACTSERVE_KERNELS_TRAIN_UPDATE_RULE_H_
#define ACTSERVE_KERNELS_TRAIN_UPDATE_RULE_H_

#include <cmath>

#include "kernels/math/primitives.h"

namespace actserve::train {

enum class OptimizerKind { kSgd, kMomentum, kNesterov, kAdam };

// The scalars of one step of one tensor. Optimizer<T>::Rule (optimizer.h) makes them from the
// job's OptimizerSpec, the step number and the learning rate.
template <class T>
struct UpdateRule {
  OptimizerKind kind = OptimizerKind::kSgd;
  T lr = 0;
  T decay = 0;              // L2: decay * p is added to the gradient first
  T momentum = 0;           // kMomentum, kNesterov
  bool first_step = false;  // momentum starts from the gradient on the first step (PyTorch)
  T beta1 = 0, beta2 = 0, epsilon = 0;  // kAdam
  T bias1 = 1, bias2 = 1;               // kAdam: 1 - beta1^t and sqrt(1 - beta2^t)

  // p -= update(g). `m` is the momentum buffer (kMomentum, kNesterov, kAdam), `v` Adam's second
  // moment; SGD reads neither.
  ACTSERVE_HD void Apply(T& p, T g, T& m, T& v) const {
    switch (kind) {
      case OptimizerKind::kSgd:
        return ApplyAs<OptimizerKind::kSgd>(p, g, m, v);
      case OptimizerKind::kMomentum:
        return ApplyAs<OptimizerKind::kMomentum>(p, g, m, v);
      case OptimizerKind::kNesterov:
        return ApplyAs<OptimizerKind::kNesterov>(p, g, m, v);
      case OptimizerKind::kAdam:
        return ApplyAs<OptimizerKind::kAdam>(p, g, m, v);
    }
  }

  // Apply for a kind known at compile time (`kind` must be K): loops over a tensor call this so
  // that the compiler sees one branch-free body and vectorises it.
  template <OptimizerKind K>
  ACTSERVE_HD void ApplyAs(T& p, T g, T& m, T& v) const {
    const T gi = g + decay * p;
    if constexpr (K == OptimizerKind::kSgd) {
      p -= lr * gi;
    } else if constexpr (K == OptimizerKind::kAdam) {
      m = beta1 * m + (1 - beta1) * gi;
      v = beta2 * v + (1 - beta2) * gi * gi;
      p -= (lr / bias1) * m / (std::sqrt(v) / bias2 + epsilon);
    } else {
      m = first_step ? gi : momentum * m + gi;
      p -= lr * (K == OptimizerKind::kNesterov ? gi + momentum * m : m);
    }
  }
};

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_UPDATE_RULE_H_
