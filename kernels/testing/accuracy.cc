#include "kernels/testing/accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_format.h"
#include "kernels/catalog/element_rules.h"
#include "kernels/testing/reference.h"
#include "kernels/util/status_macros.h"

namespace actserve::testing {
namespace {

constexpr uint64_t kSeed = 42;

template <class T>
std::vector<T> Grid() {
  std::vector<T> g;
  for (int i = -50 * 128; i <= 50 * 128; ++i) g.push_back(static_cast<T>(i / 128.0));
  uint64_t state = 12345;
  for (int i = 0; i < 20000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    g.push_back(
        static_cast<T>(-50.0 + 100.0 * static_cast<double>(state >> 11) / 9007199254740992.0));
  }
  for (double e = -30; e <= 30; e += 0.25) {
    g.push_back(static_cast<T>(std::pow(10.0, e)));
    g.push_back(static_cast<T>(-std::pow(10.0, e)));
  }
  const T specials[] = {T(0),
                        -T(0),
                        std::numeric_limits<T>::denorm_min(),
                        -std::numeric_limits<T>::denorm_min(),
                        std::numeric_limits<T>::min() / T(4),
                        -std::numeric_limits<T>::min() / T(4),
                        T(1e30),
                        T(-1e30),
                        std::numeric_limits<T>::max(),
                        std::numeric_limits<T>::lowest(),
                        std::numeric_limits<T>::infinity(),
                        -std::numeric_limits<T>::infinity(),
                        std::numeric_limits<T>::quiet_NaN()};
  g.insert(g.end(), std::begin(specials), std::end(specials));
  return g;
}

// One unit in the last place of v in type T. Below the smallest normal number the unit is that
// number itself: results in the subnormal range may be flushed to zero.
template <class T>
double Ulp(Real v) {
  Real a = fabsl(v);
  if (a < std::numeric_limits<T>::min()) return std::numeric_limits<T>::min();
  int e = ilogbl(a);
  return static_cast<double>(ldexpl(1, e - (std::numeric_limits<T>::digits - 1)));
}

// Compares one value; returns false (and records it) on a NaN/infinity mismatch.
template <class T>
void Compare(Real x, T ours, Real ref, Real scale, Accuracy* acc) {
  ++acc->points;
  Real ref_t = static_cast<T>(ref);  // the reference rounded to T: overflow to inf is expected
  bool ref_nan = std::isnan(ref), ours_nan = std::isnan(ours);
  if (ref_nan || ours_nan || std::isinf(ref_t) || std::isinf(ours)) {
    bool ok = (ref_nan && ours_nan) || (!ref_nan && !ours_nan && static_cast<Real>(ours) == ref_t);
    if (!ok) {
      if (acc->special_mismatches++ == 0) {
        acc->first_special_mismatch =
            absl::StrFormat("x=%g: got %g, expected %g", static_cast<double>(x),
                            static_cast<double>(ours), static_cast<double>(ref));
      }
    }
    return;
  }
  Real err = fabsl(static_cast<Real>(ours) - ref);
  double ulp = static_cast<double>(err) / Ulp<T>(ref);
  if (ulp > acc->max_ulp) {
    acc->max_ulp = ulp;
    acc->worst_x = static_cast<double>(x);
    acc->ours = static_cast<double>(ours);
    acc->ref = static_cast<double>(ref);
  }
  double cond = static_cast<double>(err) / Ulp<T>(std::max(fabsl(ref), fabsl(scale)));
  acc->max_conditioned_ulp = std::max(acc->max_conditioned_ulp, cond);
}

template <class T>
absl::StatusOr<Accuracy> MeasureElementwise(Backend& backend, const ActivationInfo& info,
                                            Quantity quantity) {
  const ElementwiseReference* ref = FindElementwiseReference(info.name);
  if (ref == nullptr) return absl::InternalError(absl::StrCat("no reference for ", info.name));
  std::vector<T> x = Grid<T>();
  CallSpec spec{.activation = info.name,
                .shape = {static_cast<int64_t>(x.size())},
                .seed = kSeed,
                .training = true};
  ACTSERVE_ASSIGN_OR_RETURN(ActivationCall call, PrepareCall(spec));
  std::vector<T> out(x.size());
  if (quantity == Quantity::kValue) {
    ACTSERVE_RETURN_IF_ERROR(backend.Forward(call, x, absl::MakeSpan(out)));
  } else {
    std::vector<T> dy(x.size(), T(1));
    ACTSERVE_RETURN_IF_ERROR(backend.Backward(call, x, dy, absl::MakeSpan(out), nullptr));
  }
  Real p[kMaxParams] = {};
  // Parameters enter the kernels rounded to T, so the reference uses the rounded values too.
  for (int k = 0; k < info.num_params(); ++k) p[k] = static_cast<T>(info.params[k].default_value);
  Accuracy acc;
  for (size_t i = 0; i < x.size(); ++i) {
    // Noise enters the kernels rounded to T.
    const Real noise = static_cast<T>(NoiseSample(info.noise, spec.training, kSeed, i));
    Real xi = x[i];
    if (std::isnan(xi)) {  // NaN in gives NaN out, for every function
      Compare<T>(xi, out[i], xi, 0, &acc);
      continue;
    }
    Real r, slope;
    if (quantity == Quantity::kValue) {
      r = ref->f(xi, p, noise);
      slope = ref->df(xi, p, noise);
    } else {
      r = ref->df(xi, p, noise);
      Real h = 1e-6L * std::max<Real>(1, fabsl(xi));
      slope = (ref->df(xi + h, p, noise) - ref->df(xi - h, p, noise)) / (2 * h);
    }
    Real scale = std::isfinite(slope) && std::isfinite(xi) ? xi * slope : 0;
    Compare<T>(xi, out[i], r, scale, &acc);
  }
  return acc;
}

template <class T>
absl::StatusOr<Accuracy> MeasureRows(Backend& backend, const ActivationInfo& info,
                                     Quantity quantity) {
  constexpr int64_t kRow = 8, kRows = 4000;
  std::vector<T> x(kRow * kRows), dy_all;
  uint64_t state = 777;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int64_t r = 0; r < kRows; ++r) {
    double spread = r < kRows / 2 ? 5 : 50;  // narrow rows exercise every output
    for (int64_t i = 0; i < kRow; ++i) x[r * kRow + i] = static_cast<T>(spread * (2 * next() - 1));
  }
  CallSpec spec{.activation = info.name, .shape = {kRows, kRow}};
  ACTSERVE_ASSIGN_OR_RETURN(ActivationCall call, PrepareCall(spec));
  const int64_t m = call.output_shape.back();
  std::vector<T> dy(kRows * m);
  for (T& v : dy) v = static_cast<T>(2 * next() - 1);
  std::vector<T> out(quantity == Quantity::kValue ? kRows * m : kRows * kRow);
  if (quantity == Quantity::kValue) {
    ACTSERVE_RETURN_IF_ERROR(backend.Forward(call, x, absl::MakeSpan(out)));
  } else {
    ACTSERVE_RETURN_IF_ERROR(backend.Backward(call, x, dy, absl::MakeSpan(out), nullptr));
  }
  Real p[kMaxParams] = {};
  // Parameters enter the kernels rounded to T, so the reference uses the rounded values too.
  for (int k = 0; k < info.num_params(); ++k) p[k] = static_cast<T>(info.params[k].default_value);
  Accuracy acc;
  for (int64_t r = 0; r < kRows; ++r) {
    std::vector<Real> xr(x.begin() + r * kRow, x.begin() + (r + 1) * kRow), ref;
    std::vector<Real> dyr(dy.begin() + r * m, dy.begin() + (r + 1) * m);
    bool ok = quantity == Quantity::kValue ? ReferenceRowForward(info.name, xr, p, &ref)
                                           : ReferenceRowBackward(info.name, xr, dyr, p, &ref);
    if (!ok) return absl::InternalError(absl::StrCat("no reference for ", info.name));
    // Normwise scale: the row's largest output, and for backward also |dy|_1 (the Jacobians here
    // have entries of order 1, so each dx is a sum of terms bounded by |dy|_1).
    Real scale = 0;
    for (Real v : ref) scale = std::max(scale, fabsl(v));
    if (quantity == Quantity::kDerivative) {
      Real l1 = 0;
      for (Real v : dyr) l1 += fabsl(v);
      scale = std::max(scale, l1);
    }
    const T* ours = out.data() + r * static_cast<int64_t>(ref.size());
    for (size_t j = 0; j < ref.size(); ++j) {
      Accuracy one;
      Compare<T>(xr[0], ours[j], ref[j], scale, &one);
      // Rows are judged normwise: the conditioned figure is the one that counts.
      one.max_ulp = one.max_conditioned_ulp;
      acc.points += one.points;
      acc.special_mismatches += one.special_mismatches;
      if (acc.first_special_mismatch.empty())
        acc.first_special_mismatch = one.first_special_mismatch;
      if (one.max_ulp > acc.max_ulp) {
        acc.max_ulp = one.max_ulp;
        acc.worst_x = one.worst_x;
        acc.ours = one.ours;
        acc.ref = one.ref;
      }
      acc.max_conditioned_ulp = std::max(acc.max_conditioned_ulp, one.max_conditioned_ulp);
    }
  }
  return acc;
}

}  // namespace

template <class T>
absl::StatusOr<Accuracy> MeasureAccuracy(Backend& backend, ActivationId id, Quantity quantity) {
  const ActivationInfo& info = Info(id);
  if (info.layout == Layout::kLastAxis) return MeasureRows<T>(backend, info, quantity);
  return MeasureElementwise<T>(backend, info, quantity);
}

template <>
double PromisedUlps<float>() {
  return 4;
}
template <>
double PromisedUlps<double>() {
  return 1e-13 / std::numeric_limits<double>::epsilon();
}

template absl::StatusOr<Accuracy> MeasureAccuracy<float>(Backend&, ActivationId, Quantity);
template absl::StatusOr<Accuracy> MeasureAccuracy<double>(Backend&, ActivationId, Quantity);

}  // namespace actserve::testing
