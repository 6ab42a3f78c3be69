// Device selection, device memory and CUDA errors as values, for the CUDA backend's host code.
#ifndef ACTSERVE_KERNELS_CUDA_DEVICE_MEMORY_H_
#define ACTSERVE_KERNELS_CUDA_DEVICE_MEMORY_H_

#include <cuda_runtime_api.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"

namespace actserve::cuda {

// A CUDA error as a status: out of memory is RESOURCE_EXHAUSTED, the rest INTERNAL. Clears the
// thread's last error so that the next call starts clean (the errors here are not sticky ones).
inline absl::Status CudaStatus(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return absl::OkStatus();
  cudaGetLastError();
  std::string message =
      absl::StrFormat("CUDA %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
  if (e == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

// Makes `device` the calling thread's device. UNAVAILABLE, saying why, without a driver or without
// that device.
inline absl::Status UseDevice(int device) {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    cudaGetLastError();
    return absl::UnavailableError(absl::StrFormat("no usable CUDA device: %s (%s)",
                                                  cudaGetErrorString(e), cudaGetErrorName(e)));
  }
  if (device < 0 || device >= count) {
    return absl::UnavailableError(
        absl::StrFormat("no CUDA device %d: this machine has %d", device, count));
  }
  return CudaStatus(cudaSetDevice(device), "selecting the device");
}

// An array of T on the device, allocated and freed in the order of one stream. Movable.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        stream_(o.stream_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      Free();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
      stream_ = o.stream_;
    }
    return *this;
  }
  ~DeviceBuffer() { Free(); }

  // Room for `n` values (uninitialised), replacing what was held.
  absl::Status Allocate(size_t n, cudaStream_t stream) {
    Free();
    stream_ = stream;
    if (n == 0) return absl::OkStatus();
    absl::Status s =
        CudaStatus(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), n * sizeof(T), stream),
                   absl::StrFormat("allocating %d bytes", n * sizeof(T)).c_str());
    if (s.ok()) size_ = n;
    return s;
  }
  // Allocates room for `host` and copies it in.
  absl::Status CopyIn(absl::Span<const T> host, cudaStream_t stream) {
    if (absl::Status s = Allocate(host.size(), stream); !s.ok()) return s;
    return Write(host, stream);
  }
  // Copies `host` into the first host.size() values (at most size()).
  absl::Status Write(absl::Span<const T> host, cudaStream_t stream) {
    if (host.empty()) return absl::OkStatus();
    return CudaStatus(
        cudaMemcpyAsync(ptr_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, stream),
        "copying to the device");
  }
  // Copies the first host.size() values out (asynchronously: synchronise before reading).
  absl::Status CopyOut(absl::Span<T> host, cudaStream_t stream) const {
    if (host.empty()) return absl::OkStatus();
    return CudaStatus(
        cudaMemcpyAsync(host.data(), ptr_, host.size() * sizeof(T), cudaMemcpyDeviceToHost, stream),
        "copying from the device");
  }
  absl::Status Zero(cudaStream_t stream) {
    if (size_ == 0) return absl::OkStatus();
    return CudaStatus(cudaMemsetAsync(ptr_, 0, size_ * sizeof(T), stream), "zeroing memory");
  }

  T* get() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void Free() {
    if (ptr_ != nullptr) cudaFreeAsync(ptr_, stream_);
    ptr_ = nullptr;
    size_ = 0;
  }

  T* ptr_ = nullptr;
  size_t size_ = 0;
  cudaStream_t stream_ = nullptr;
};

}  // namespace actserve::cuda

#endif  // ACTSERVE_KERNELS_CUDA_DEVICE_MEMORY_H_
