#include "kernels/cuda/cuda_backend.h"

#include <cuda_runtime_api.h>

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "kernels/call.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_call.h"
#include "kernels/cuda/device_memory.h"
#include "kernels/util/status_macros.h"

namespace actserve {
namespace {

using cuda::CudaStatus;
using cuda::DeviceBuffer;
using cuda::DeviceCall;

class CudaBackend final : public TypedBackend<CudaBackend> {
 public:
  explicit CudaBackend(int device) : device_(device) {}

  std::string_view name() const override { return "cuda"; }

 private:
  friend class TypedBackend<CudaBackend>;

  // The device form of `call`; per-channel parameter values go into `channel_params`.
  absl::StatusOr<DeviceCall> ToDevice(const ActivationCall& call, cudaStream_t stream,
                                      DeviceBuffer<double>& channel_params) {
    DeviceCall d = cuda::MakeDeviceCall(call);
    if (d.per_channel) {
      ACTSERVE_RETURN_IF_ERROR(
          channel_params.CopyIn(absl::MakeConstSpan(call.params[d.learnable]), stream));
      d.channel_params = channel_params.get();
    }
    return d;
  }

  template <class T>
  absl::Status DoForward(const ActivationCall& call, absl::Span<const T> x, absl::Span<T> y) {
    ACTSERVE_RETURN_IF_ERROR(CheckForwardSizes(call, x.size(), y.size()));
    ACTSERVE_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(device_), "selecting the device"));
    const cudaStream_t stream = cudaStreamPerThread;
    DeviceBuffer<double> channel_params;
    DeviceBuffer<T> dx_in, dy_out;
    ACTSERVE_ASSIGN_OR_RETURN(DeviceCall d, ToDevice(call, stream, channel_params));
    ACTSERVE_RETURN_IF_ERROR(dx_in.CopyIn(x, stream));
    ACTSERVE_RETURN_IF_ERROR(dy_out.Allocate(y.size(), stream));
    ACTSERVE_RETURN_IF_ERROR(
        CudaStatus(cuda::LaunchForward<T>(d, dx_in.get(), dy_out.get(), stream),
                   "launching the forward kernel"));
    ACTSERVE_RETURN_IF_ERROR(dy_out.CopyOut(y, stream));
    return CudaStatus(cudaStreamSynchronize(stream), "running the forward kernel");
  }

  template <class T>
  absl::Status DoBackward(const ActivationCall& call, absl::Span<const T> x, absl::Span<const T> dy,
                          absl::Span<T> dx, ParamGradients* grads) {
    ACTSERVE_RETURN_IF_ERROR(CheckBackwardSizes(call, x.size(), dy.size(), dx.size()));
    ACTSERVE_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(device_), "selecting the device"));
    const cudaStream_t stream = cudaStreamPerThread;
    DeviceBuffer<double> channel_params, grad_sums;
    DeviceBuffer<T> d_x, d_dy, d_dx, scratch;
    ACTSERVE_ASSIGN_OR_RETURN(DeviceCall d, ToDevice(call, stream, channel_params));
    ACTSERVE_RETURN_IF_ERROR(d_x.CopyIn(x, stream));
    ACTSERVE_RETURN_IF_ERROR(d_dy.CopyIn(dy, stream));
    ACTSERVE_RETURN_IF_ERROR(d_dx.Allocate(dx.size(), stream));
    if (call.info->layout == Layout::kLastAxis) {
      ACTSERVE_RETURN_IF_ERROR(scratch.Allocate(x.size(), stream));
    }
    const size_t grad_count = d.learnable < 0 ? 0 : call.params[d.learnable].size();
    const bool want_grads = grads != nullptr && grad_count > 0;
    if (want_grads) {
      ACTSERVE_RETURN_IF_ERROR(grad_sums.Allocate(grad_count, stream));
      ACTSERVE_RETURN_IF_ERROR(grad_sums.Zero(stream));
    }
    ACTSERVE_RETURN_IF_ERROR(CudaStatus(
        cuda::LaunchBackward<T>(d, d_x.get(), d_dy.get(), d_dx.get(),
                                want_grads ? grad_sums.get() : nullptr, scratch.get(), stream),
        "launching the backward kernel"));
    ACTSERVE_RETURN_IF_ERROR(d_dx.CopyOut(dx, stream));
    std::vector<double> sums(grad_count, 0.0);
    if (want_grads) ACTSERVE_RETURN_IF_ERROR(grad_sums.CopyOut(absl::MakeSpan(sums), stream));
    ACTSERVE_RETURN_IF_ERROR(
        CudaStatus(cudaStreamSynchronize(stream), "running the backward kernel"));
    if (grads != nullptr) {
      *grads = ParamGradients();
      if (d.learnable >= 0) grads->values[d.learnable] = std::move(sums);
    }
    return absl::OkStatus();
  }

  const int device_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> NewCudaBackend(const CudaBackendOptions& options) {
  ACTSERVE_RETURN_IF_ERROR(cuda::UseDevice(options.device));
  return std::make_unique<CudaBackend>(options.device);
}

bool CudaCompiledIn() { return true; }

std::string DescribeCudaDevices() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return absl::StrFormat("none: %s", cudaGetErrorString(e));
  }
  std::string out = absl::StrFormat("%d device%s", count, count == 1 ? "" : "s");
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    absl::StrAppend(&out, i == 0 ? ": " : "; ",
                    absl::StrFormat("%s (sm_%d%d, %d GiB)", p.name, p.major, p.minor,
                                    static_cast<int>(p.totalGlobalMem >> 30)));
  }
  return out;
}

}  // namespace actserve
