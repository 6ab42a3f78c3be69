// Per-layer diagnostics of a training job: the failure modes the survey discusses (dead units,
// saturation, vanishing or exploding gradients), summed over a reporting period by an engine and
// summarised the same way whichever engine summed them.
#ifndef ACTSERVE_KERNELS_TRAIN_DIAGNOSTICS_H_
#define ACTSERVE_KERNELS_TRAIN_DIAGNOSTICS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/math/primitives.h"

namespace actserve::train {

// One layer's health over a reporting period.
struct LayerDiagnostics {
  // Whether the derivative statistics exist: elementwise activations only (for last-axis ones,
  // softmax, maxout, glu, f' is a Jacobian and both fractions are reported as 0).
  bool has_derivative_stats = false;
  double dead_fraction = 0;       // units whose f'(z) was 0 for every sample of the period
  double saturated_fraction = 0;  // (sample, unit) pairs with |f'(z)| < 1e-3
  double activation_mean = 0;     // of the layer's outputs over the period
  double activation_std = 0;
  double weight_norm = 0;    // ||W||_F at the report
  double gradient_norm = 0;  // ||dLoss/dW||_F, averaged over the period's steps
};

// Whether a derivative value f'(z) counts as saturated.
template <class T>
ACTSERVE_HD bool IsSaturated(T derivative) {
  return std::fabs(derivative) < T(1e-3);
}

// One layer's running sums over a period.
struct LayerStats {
  std::vector<uint8_t> alive;    // per unit: f' was nonzero for some sample
  int64_t saturated = 0;         // derivative values that IsSaturated
  int64_t derivatives = 0;       // ... out of this many (0: no derivative statistics)
  double sum = 0, sum_sq = 0;    // of the layer's outputs
  int64_t values = 0;            // ... over this many
  double gradient_norm_sum = 0;  // of ||dLoss/dW||_F, one per step
  int64_t steps = 0;

  void Reset(int64_t units) {
    *this = LayerStats();
    alive.assign(units, 0);
  }

  LayerDiagnostics Summarize(double weight_norm) const {
    LayerDiagnostics d;
    d.has_derivative_stats = derivatives > 0;
    if (d.has_derivative_stats) {
      const int64_t dead = std::count(alive.begin(), alive.end(), 0);
      d.dead_fraction = static_cast<double>(dead) / static_cast<double>(alive.size());
      d.saturated_fraction = static_cast<double>(saturated) / static_cast<double>(derivatives);
    }
    if (values > 0) {
      d.activation_mean = sum / static_cast<double>(values);
      d.activation_std = std::sqrt(std::max(
          0.0, sum_sq / static_cast<double>(values) - d.activation_mean * d.activation_mean));
    }
    d.weight_norm = weight_norm;
    d.gradient_norm = steps ? gradient_norm_sum / static_cast<double>(steps) : 0;
    return d;
  }
};

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_DIAGNOSTICS_H_
