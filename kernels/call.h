// ActivationCall: one validated request to evaluate an activation on a tensor, shared by every
// backend so that they accept and reject exactly the same inputs with the same messages.
#ifndef ACTSERVE_KERNELS_CALL_H_
#define ACTSERVE_KERNELS_CALL_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/catalog/catalog.h"

namespace actserve {

// What a caller asks for, before validation.
struct CallSpec {
  std::string activation;      // name or alias
  std::vector<int64_t> shape;  // x's shape; rank 0 is a scalar
  // Parameter overrides by name: one value, or one per channel for learnable parameters.
  std::vector<std::pair<std::string, std::vector<double>>> params;
  uint64_t seed = 0;      // noise seed of stochastic functions
  bool training = false;  // rrelu draws its slopes only in training mode
  // Backward is given the forward's output y in place of x (only where the catalog entry has
  // backward_from_output; shape is then y's, which equals x's for those functions).
  bool from_output = false;
};

// A validated call. Channels run along axis 1 for rank >= 2 (N, C, ...), as in PyTorch's PReLU;
// a tensor of rank < 2 has one channel.
struct ActivationCall {
  ActivationId id;
  const ActivationInfo* info;
  std::vector<int64_t> input_shape;
  std::vector<int64_t> output_shape;
  int64_t input_size = 0;   // elements of x (and dx)
  int64_t output_size = 0;  // elements of y (and dy)
  int64_t channels = 1;
  int64_t inner = 1;       // elements per channel run: product of dims after axis 1
  int64_t row_length = 1;  // last-axis length, for Layout::kLastAxis
  // Every parameter's value(s): size 1, or `channels` for a per-channel learnable parameter.
  std::array<std::vector<double>, kMaxParams> params;
  uint64_t seed = 0;
  bool training = false;
  bool from_output = false;  // see CallSpec

  bool per_channel() const;
  int64_t rows() const { return row_length == 0 ? 0 : input_size / row_length; }
};

// Validates `spec` against the catalog. INVALID_ARGUMENT, naming the field and what was expected,
// for: an unknown activation or parameter, a parameter given twice, a non-finite or out-of-range
// value, several values for a parameter that is not learnable or a count that does not match the
// channels, a negative dimension, a shape whose element count overflows int64, and a last axis
// that breaks the function's rule (maxout: divisible by k; glu: even; rank >= 1), and from_output
// for a function without backward_from_output.
absl::StatusOr<ActivationCall> PrepareCall(const CallSpec& spec);

// INVALID_ARGUMENT unless x and y have the element counts the call's shapes need.
absl::Status CheckForwardSizes(const ActivationCall& call, size_t x, size_t y);
// INVALID_ARGUMENT unless x, dx have the input's and dy the output's element count.
absl::Status CheckBackwardSizes(const ActivationCall& call, size_t x, size_t dy, size_t dx);

// "[2, 3, 4]"
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CALL_H_
