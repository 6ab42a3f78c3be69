// Measures a backend's accuracy on every catalog function against the long double references
// (reference.h), for the accuracy test and the accuracy_table tool.
//
// Inputs: a dense grid on [-50, 50] (step 2^-7), 20000 pseudo-random points there, magnitudes
// from 1e-30 to 1e30, +-0, subnormals, +-1e30, the type's largest value, +-inf and NaN.
// Error: |ours - ref| in units in the last place of max(|ref|, smallest normal) of the
// evaluated type. Last-axis functions are measured normwise: in ulps of the row's largest
// |ref|, since their outputs are only defined to the precision of the row's largest term.
#ifndef ACTSERVE_KERNELS_TESTING_ACCURACY_H_
#define ACTSERVE_KERNELS_TESTING_ACCURACY_H_

#include <string>

#include "kernels/backend.h"
#include "kernels/catalog/catalog.h"

namespace actserve::testing {

struct Accuracy {
  double max_ulp = 0;        // largest error among finite references
  double worst_x = 0;        // an input where it occurs (first element of the row for rows)
  double ours = 0, ref = 0;  // the values there
  // Largest error measured against the conditioned scale max(|ref|, |x * ref'(x)|): the error
  // that rounding x by half an ulp would cause. Used for functions documented as limited by
  // argument rounding (see cpu_accuracy_test.cc).
  double max_conditioned_ulp = 0;
  int special_mismatches = 0;  // NaN where ref is not (or not where it is), or a wrong infinity
  std::string first_special_mismatch;
  long points = 0;
};

enum class Quantity { kValue, kDerivative };

// Evaluates activation `id` (default parameters; stochastic functions in training mode with
// seed 42) on `backend` in type T and compares with the reference. INTERNAL if the backend fails
// or there is no reference.
template <class T>
absl::StatusOr<Accuracy> MeasureAccuracy(Backend& backend, ActivationId id, Quantity quantity);

// The tolerance in ulps that the project promises for type T (4 for float; 1e-13 relative,
// about 450 ulps, for double).
template <class T>
double PromisedUlps();

}  // namespace actserve::testing

#endif  // ACTSERVE_KERNELS_TESTING_ACCURACY_H_
