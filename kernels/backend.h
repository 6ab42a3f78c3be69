// Backend: the interface every compute implementation (CPU, CUDA) offers to the service.
//
// All methods are thread-safe; any number of calls may run concurrently. Buffers are owned by
// the caller and sized by the call (see call.h): a backend never allocates per-element output.
// Errors are values: INVALID_ARGUMENT for buffers that do not match the call's shapes,
// RESOURCE_EXHAUSTED or INTERNAL for device failures.
#ifndef ACTSERVE_KERNELS_BACKEND_H_
#define ACTSERVE_KERNELS_BACKEND_H_

#include <array>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "kernels/call.h"

namespace actserve {

// Gradients of the learnable parameters, indexed like ActivationInfo::params: empty for a
// parameter that is not learnable, otherwise one sum per value the call gave (1 or channels).
struct ParamGradients {
  std::array<std::vector<double>, kMaxParams> values;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu", "cuda".
  virtual std::string_view name() const = 0;

  // y = f(x). x has call.input_size elements, y call.output_size.
  virtual absl::Status Forward(const ActivationCall& call, absl::Span<const float> x,
                               absl::Span<float> y) = 0;
  virtual absl::Status Forward(const ActivationCall& call, absl::Span<const double> x,
                               absl::Span<double> y) = 0;

  // dx = dy * f'(x) (the vector-Jacobian product for last-axis functions), and the gradients of
  // the learnable parameters, sum(dy * df/dp) over the elements each value applies to.
  // x and dx have call.input_size elements, dy call.output_size. `grads` may be null.
  virtual absl::Status Backward(const ActivationCall& call, absl::Span<const float> x,
                                absl::Span<const float> dy, absl::Span<float> dx,
                                ParamGradients* grads) = 0;
  virtual absl::Status Backward(const ActivationCall& call, absl::Span<const double> x,
                                absl::Span<const double> dy, absl::Span<double> dx,
                                ParamGradients* grads) = 0;
};

// Implements Backend's float and double overloads with one pair of templates of `Impl` (which
// derives from TypedBackend<Impl> and befriends it):
//   template <class T> absl::Status DoForward(const ActivationCall&, absl::Span<const T> x,
//                                             absl::Span<T> y);
//   template <class T> absl::Status DoBackward(const ActivationCall&, absl::Span<const T> x,
//                                              absl::Span<const T> dy, absl::Span<T> dx,
//                                              ParamGradients*);
template <class Impl>
class TypedBackend : public Backend {
 public:
  absl::Status Forward(const ActivationCall& call, absl::Span<const float> x,
                       absl::Span<float> y) final {
    return self().DoForward(call, x, y);
  }
  absl::Status Forward(const ActivationCall& call, absl::Span<const double> x,
                       absl::Span<double> y) final {
    return self().DoForward(call, x, y);
  }
  absl::Status Backward(const ActivationCall& call, absl::Span<const float> x,
                        absl::Span<const float> dy, absl::Span<float> dx,
                        ParamGradients* grads) final {
    return self().DoBackward(call, x, dy, dx, grads);
  }
  absl::Status Backward(const ActivationCall& call, absl::Span<const double> x,
                        absl::Span<const double> dy, absl::Span<double> dx,
                        ParamGradients* grads) final {
    return self().DoBackward(call, x, dy, dx, grads);
  }

 private:
  Impl& self() { return static_cast<Impl&>(*this); }
};

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_BACKEND_H_
