#include "kernels/call.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "kernels/util/status_macros.h"
#include "kernels/util/untrusted.h"

namespace actserve {
namespace {

template <class Fn>
int64_t OutputLengthOf(int64_t n, const double* params) {
  if constexpr (Fn::kInfo.layout == Layout::kLastAxis) {
    return Fn::OutputLength(n, params);
  } else {
    return n;
  }
}

// Output row length of a last-axis function for an input row of n, or -1 if n is not allowed.
int64_t OutputLength(ActivationId id, int64_t n, const double* params) {
  using Fn = int64_t (*)(int64_t, const double*);
  static constexpr Fn kTable[] = {
#define ACTSERVE_OUTPUT_LENGTH_(Type) &OutputLengthOf<fn::Type>,
      ACTSERVE_ACTIVATIONS(ACTSERVE_OUTPUT_LENGTH_)
#undef ACTSERVE_OUTPUT_LENGTH_
  };
  return kTable[static_cast<int>(id)](n, params);
}

std::string ParamNames(const ActivationInfo& info) {
  std::string names;
  for (int k = 0; k < info.num_params(); ++k) {
    absl::StrAppend(&names, k == 0 ? "" : ", ", info.params[k].name);
  }
  return names.empty() ? "none" : names;
}

absl::Status CheckValue(const ActivationInfo& info, const ParamSpec& p, double v) {
  if (!std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("parameter '%s' of %s must be finite, got %g", p.name, info.name, v));
  }
  bool below = p.min_exclusive ? v <= p.min : v < p.min;
  bool above = p.max_exclusive ? v >= p.max : v > p.max;
  if (below || above) {
    std::string range;
    if (std::isfinite(p.min)) {
      absl::StrAppend(&range, p.min_exclusive ? "> " : ">= ", absl::StrFormat("%.10g", p.min));
    }
    if (std::isfinite(p.max)) {
      absl::StrAppend(&range, range.empty() ? "" : " and ",
                      p.max_exclusive ? "< " : "<= ", absl::StrFormat("%.10g", p.max));
    }
    return absl::InvalidArgumentError(
        absl::StrFormat("parameter '%s' of %s must be %s, got %g", p.name, info.name, range, v));
  }
  if (p.integer && v != std::floor(v)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "parameter '%s' of %s must be a whole number, got %g", p.name, info.name, v));
  }
  return absl::OkStatus();
}

// The parts of PrepareCall, in the order it calls them; each fills in part of `call`.

// Shape: non-negative dims whose product fits in int64; channels along axis 1.
absl::Status SetInputShape(const std::vector<int64_t>& shape, ActivationCall& call) {
  int64_t size = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t dim = shape[d];
    if (dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("shape[%d] is %d; dimensions must be >= 0", d, dim));
    }
    if (dim != 0 && size > std::numeric_limits<int64_t>::max() / dim) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "shape %s has more elements than fit in a 64-bit count", ShapeToString(shape)));
    }
    size *= dim;
  }
  // A zero dimension anywhere makes the tensor empty even if a later product overflowed.
  for (int64_t dim : shape) {
    if (dim == 0) size = 0;
  }
  call.input_shape = shape;
  call.input_size = size;
  if (shape.size() >= 2) {
    call.channels = shape[1];
    // Elements per channel slice; 1 for an empty tensor, whose other dimensions may multiply
    // past int64 (nothing is indexed then).
    call.inner = 1;
    for (size_t d = 2; d < shape.size() && size > 0; ++d) call.inner *= shape[d];
  }
  return absl::OkStatus();
}

// One override's values for parameter p: present, one unless learnable, then one per channel,
// each finite and in range.
absl::Status CheckOverride(const ActivationCall& call, const ParamSpec& p,
                           const std::vector<double>& values) {
  const ActivationInfo& info = *call.info;
  if (values.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("params: parameter '%s' of %s has no value", p.name, info.name));
  }
  if (values.size() > 1 && !p.learnable) {
    return absl::InvalidArgumentError(
        absl::StrFormat("params: parameter '%s' of %s is not learnable and takes one value, got %d",
                        p.name, info.name, values.size()));
  }
  if (values.size() > 1 && static_cast<int64_t>(values.size()) != call.channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "params: parameter '%s' of %s has %d values but x has %d channel%s (axis 1 of shape "
        "%s); give one value or one per channel",
        p.name, info.name, values.size(), call.channels, call.channels == 1 ? "" : "s",
        ShapeToString(call.input_shape)));
  }
  for (double v : values) {
    absl::Status s = CheckValue(info, p, v);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("params: ", s.message()));
  }
  return absl::OkStatus();
}

// Parameters: defaults, then overrides by name, then the order between two of them.
absl::Status SetParams(const std::vector<std::pair<std::string, std::vector<double>>>& overrides,
                       ActivationCall& call) {
  const ActivationInfo& info = *call.info;
  const int num_params = info.num_params();
  std::array<bool, kMaxParams> given = {};
  for (int k = 0; k < num_params; ++k) call.params[k] = {info.params[k].default_value};
  for (const auto& [name, values] : overrides) {
    int k = 0;
    while (k < num_params && name != info.params[k].name) ++k;
    if (k == num_params) {
      return absl::InvalidArgumentError(
          absl::StrFormat("params: %s has no parameter %s; its parameters are: %s", info.name,
                          QuoteUntrusted(name), ParamNames(info)));
    }
    if (given[k]) {
      return absl::InvalidArgumentError(
          absl::StrFormat("params: parameter '%s' of %s is given twice", name, info.name));
    }
    given[k] = true;
    if (absl::Status s = CheckOverride(call, info.params[k], values); !s.ok()) return s;
    call.params[k] = values;
  }
  if (info.order[0] >= 0) {
    const ParamSpec& a = info.params[info.order[0]];
    const ParamSpec& b = info.params[info.order[1]];
    double va = call.params[info.order[0]][0], vb = call.params[info.order[1]][0];
    if (va > vb) {
      return absl::InvalidArgumentError(
          absl::StrFormat("params: %s needs %s <= %s, got %s = %g and %s = %g", info.name, a.name,
                          b.name, a.name, va, b.name, vb));
    }
  }
  return absl::OkStatus();
}

// Output shape: x's, or for a last-axis function its rule applied to the last axis.
absl::Status SetOutputShape(ActivationCall& call) {
  const ActivationInfo& info = *call.info;
  const std::vector<int64_t>& shape = call.input_shape;
  call.output_shape = shape;
  call.output_size = call.input_size;
  if (info.layout != Layout::kLastAxis) return absl::OkStatus();
  if (shape.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "shape: %s works along the last axis and needs x of rank >= 1, got a scalar", info.name));
  }
  double scalar_params[kMaxParams] = {};
  for (int k = 0; k < info.num_params(); ++k) scalar_params[k] = call.params[k][0];
  int64_t n = shape.back();
  int64_t m = OutputLength(call.id, n, scalar_params);
  if (m < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "shape: %s needs the last axis %s, got length %d (shape %s)", info.name,
        absl::StrReplaceAll(info.last_axis_rule, {{"k", absl::StrCat("k = ", scalar_params[0])}}),
        n, ShapeToString(shape)));
  }
  call.row_length = n;
  call.output_shape.back() = m;
  call.output_size = n == 0 ? 0 : call.input_size / n * m;
  return absl::OkStatus();
}

}  // namespace

bool ActivationCall::per_channel() const {
  for (const auto& p : params) {
    if (p.size() > 1) return true;
  }
  return false;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::StatusOr<ActivationCall> PrepareCall(const CallSpec& spec) {
  std::optional<ActivationId> id;
  if (spec.activation.size() <= kMaxActivationNameBytes) id = FindActivation(spec.activation);
  if (!id.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "activation: unknown activation %s; ListActivations names the %d known ones",
        QuoteUntrusted(spec.activation), kNumActivations));
  }
  ActivationCall call;
  call.id = *id;
  call.info = &Info(*id);
  call.seed = spec.seed;
  call.training = spec.training;
  if (spec.from_output && !call.info->backward_from_output) {
    return absl::InvalidArgumentError(
        absl::StrFormat("from_output: %s has no backward from its output (the softmax family, "
                        "sigmoid and tanh have: see "
                        "ActivationInfo.backward_from_output); send x instead",
                        call.info->name));
  }
  call.from_output = spec.from_output;
  ACTSERVE_RETURN_IF_ERROR(SetInputShape(spec.shape, call));
  ACTSERVE_RETURN_IF_ERROR(SetParams(spec.params, call));
  ACTSERVE_RETURN_IF_ERROR(SetOutputShape(call));
  return call;
}

absl::Status CheckForwardSizes(const ActivationCall& call, size_t x, size_t y) {
  if (static_cast<int64_t>(x) != call.input_size) {
    return absl::InvalidArgumentError(absl::StrFormat("x has %d elements but shape %s needs %d", x,
                                                      ShapeToString(call.input_shape),
                                                      call.input_size));
  }
  if (static_cast<int64_t>(y) != call.output_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "y has room for %d elements but %s of shape %s gives %d (shape %s)", y, call.info->name,
        ShapeToString(call.input_shape), call.output_size, ShapeToString(call.output_shape)));
  }
  return absl::OkStatus();
}

absl::Status CheckBackwardSizes(const ActivationCall& call, size_t x, size_t dy, size_t dx) {
  if (static_cast<int64_t>(x) != call.input_size) {
    return absl::InvalidArgumentError(absl::StrFormat("x has %d elements but shape %s needs %d", x,
                                                      ShapeToString(call.input_shape),
                                                      call.input_size));
  }
  if (static_cast<int64_t>(dy) != call.output_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "x has %d elements but dy has %d; dy must have the output's shape %s (%d elements)", x, dy,
        ShapeToString(call.output_shape), call.output_size));
  }
  if (static_cast<int64_t>(dx) != call.input_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("dx has room for %d elements but x has %d", dx, call.input_size));
  }
  return absl::OkStatus();
}

}  // namespace actserve
