// The losses' per-element and per-row arithmetic, shared by the CPU (Network::ComputeLoss) and the
// CUDA engine's kernels. Each term is computed in double whatever T is; each writes its share of
// the gradient of the mean loss when `grad` is not null. Host and device code.
#ifndef ACTSERVE_KERNELS_TRAIN_LOSS_TERMS_H_
#define ACTSERVE_KERNELS_TRAIN_LOSS_TERMS_H_

#include <cmath>
#include <cstdint>

#include "kernels/math/primitives.h"

namespace actserve::train {

// (out - target)^2, of a mean over `count` values.
template <class T>
ACTSERVE_HD double SquaredErrorTerm(T out, T target, double count, T* grad) {
  const T d = out - target;
  if (grad != nullptr) *grad = static_cast<T>(2 * d / count);
  return static_cast<double>(d) * d;
}

// Binary cross-entropy of the logit `out` against `target` in [0, 1], of a mean over `count`
// values, as max(x, 0) - x t + log1p(exp(-|x|)): exact for large |x| of either sign. `correct`:
// whether the prediction (x > 0) matches the target's class (t >= 0.5).
template <class T>
ACTSERVE_HD double SigmoidCrossEntropyTerm(T out, T target, double count, T* grad, bool* correct) {
  const double x = out, t = target;
  *correct = (x > 0) == (t >= 0.5);
  if (grad != nullptr) {
    const double p = x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
    *grad = static_cast<T>((p - t) / count);
  }
  return (x > 0 ? x : 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
}

// Softmax cross-entropy of one row of `cols` logits against class `label`, of a mean over `rows`
// rows, by log-sum-exp with the row maximum taken out (never overflows). `correct`: whether the
// first largest logit is the label's. `grad` receives the row's `cols` values.
template <class T>
ACTSERVE_HD double SoftmaxCrossEntropyRow(const T* out, int64_t cols, int64_t label, double rows,
                                          T* grad, bool* correct) {
  int64_t best = 0;
  T m = out[0];
  for (int64_t c = 1; c < cols; ++c) {
    if (out[c] > m) m = out[c], best = c;
  }
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) s += std::exp(static_cast<double>(out[c] - m));
  const double lse = static_cast<double>(m) + std::log(s);
  *correct = best == label;
  if (grad != nullptr) {
    for (int64_t c = 0; c < cols; ++c) {
      const double p = std::exp(static_cast<double>(out[c]) - lse);
      grad[c] = static_cast<T>((p - (c == label)) / rows);
    }
  }
  return lse - static_cast<double>(out[label]);
}

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_LOSS_TERMS_H_
