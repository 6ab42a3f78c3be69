// The device side of the CUDA backend: one kernel per catalog entry, direction and dtype, all
// generated from the catalog's definitions (the same templates the CPU evaluates on SIMD
// registers, here one element or one row per thread). Host code (cuda_backend.cc) sees only these
// launchers. Buffers are device pointers; launches are asynchronous on `stream`.
#ifndef ACTSERVE_KERNELS_CUDA_CUDA_KERNELS_H_
#define ACTSERVE_KERNELS_CUDA_CUDA_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/catalog/activation_info.h"

namespace actserve::cuda {

// An ActivationCall as the device needs it (plain values, copied into the kernel's arguments).
struct DeviceCall {
  int id = 0;        // ActivationId
  int64_t size = 0;  // input elements
  int64_t channels =
      1;  // channels run along axis 1; element i is in channel (i / inner) % channels
  int64_t inner = 1;
  // The learnable parameter's values on the device, where set (they override params[learnable]):
  // one per channel when per_channel, else one. Per-channel calls must set them.
  bool per_channel = false;
  const double* channel_params = nullptr;
  int learnable = -1;              // its index, or -1
  double params[kMaxParams] = {};  // every parameter's (first) value
  uint64_t seed = 0;
  bool training = false;
  int64_t rows = 0, row_length = 0, out_row_length = 0;  // last-axis functions
  bool from_output = false;  // backward: x holds the forward's output (ActivationCall)
};

// y = f(x).
template <class T>
cudaError_t LaunchForward(const DeviceCall& call, const T* x, T* y, cudaStream_t stream);

// dx = dy * f'(x) (a vector-Jacobian product for last-axis functions). `grads`, if not null, are
// zeroed doubles, one per channel (per-channel calls) or one, that receive sum(dy * df/dp) for the
// learnable parameter. `scratch` holds call.size values (last-axis functions only).
template <class T>
cudaError_t LaunchBackward(const DeviceCall& call, const T* x, const T* dy, T* dx, double* grads,
                           T* scratch, cudaStream_t stream);

}  // namespace actserve::cuda

#endif  // ACTSERVE_KERNELS_CUDA_CUDA_KERNELS_H_
