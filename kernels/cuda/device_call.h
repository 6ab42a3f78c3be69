// MakeDeviceCall: an ActivationCall in the form the device kernels take (host code only).
#ifndef ACTSERVE_KERNELS_CUDA_DEVICE_CALL_H_
#define ACTSERVE_KERNELS_CUDA_DEVICE_CALL_H_

#include "kernels/call.h"
#include "kernels/cuda/cuda_kernels.h"

namespace actserve::cuda {

// Everything but the per-channel parameter values, which the caller copies to the device and
// points `channel_params` at when `per_channel` is set.
inline DeviceCall MakeDeviceCall(const ActivationCall& call) {
  DeviceCall d;
  d.id = static_cast<int>(call.id);
  d.size = call.input_size;
  d.channels = call.channels;
  d.inner = call.inner;
  d.learnable = LearnableParam(*call.info);
  for (int k = 0; k < kMaxParams; ++k) {
    d.params[k] = call.params[k].empty() ? 0 : call.params[k][0];
  }
  d.per_channel = call.per_channel();
  d.seed = call.seed;
  d.training = call.training;
  d.row_length = call.row_length;
  d.rows = call.rows();
  d.out_row_length = call.output_shape.empty() ? 1 : call.output_shape.back();
  d.from_output = call.from_output;
  return d;
}

}  // namespace actserve::cuda

#endif  // ACTSERVE_KERNELS_CUDA_DEVICE_CALL_H_
