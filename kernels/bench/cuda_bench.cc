// The CUDA backend's speed, for a machine with an NVIDIA GPU (it says so and exits 0 without one):
//
// 1. Device throughput of every catalog entry against a device-to-device copy of
//    the same bytes, in the same run: ratio = kernel bytes/s over copy bytes/s (target >= 0.85
//    for large tensors). Bytes are what the kernel must move: x and y forward; x, dy and dx
//    backward (counted at x's size: maxout and glu, whose outputs are smaller, are understated).
// 2. End to end, host buffers to host buffers (what a request pays: copies in, kernel, copy
//    out) for the CUDA backend against the CPU backend on all cores, by size: where the GPU
//    starts to win is the crossover for BACKEND_UNSPECIFIED (actserve --cuda_min_elements).
//
//   cuda_bench [--reps=N]
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/catalog/catalog.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/device_call.h"

namespace actserve {
namespace {

#define CHECK_CUDA(expr)                                               \
  do {                                                                 \
    cudaError_t e_ = (expr);                                           \
    if (e_ != cudaSuccess) {                                           \
      std::fprintf(stderr, "%s: %s\n", #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                    \
    }                                                                  \
  } while (false)

// Median seconds of `reps` timed runs of f (each timed with events on the default stream).
template <class F>
double DeviceSeconds(int reps, F f) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    CHECK_CUDA(cudaEventRecord(start));
    f();
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    t.push_back(ms / 1e3);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

template <class F>
double HostSeconds(int reps, F f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

ActivationCall Call(const char* name, int64_t n) {
  absl::StatusOr<ActivationCall> c = PrepareCall({.activation = name, .shape = {n / 1024, 1024}});
  if (!c.ok()) {
    std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
    std::exit(1);
  }
  return *c;
}

void DeviceThroughput(int reps) {
  std::printf("| function | direction | elements | kernel GB/s | copy GB/s | ratio |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (int64_t n : {int64_t{1} << 24, int64_t{1} << 26}) {
    float *x, *y, *dy, *dx;
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&x), n * 4));
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&y), n * 4));
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&dy), n * 4));
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&dx), n * 4));
    CHECK_CUDA(cudaMemset(x, 0, n * 4));
    CHECK_CUDA(cudaMemset(dy, 0, n * 4));
    // The reference: a device-to-device copy of n floats moves 2n * 4 bytes.
    const double copy = DeviceSeconds(
        reps, [&] { CHECK_CUDA(cudaMemcpyAsync(y, x, n * 4, cudaMemcpyDeviceToDevice)); });
    const double copy_bw = 2.0 * n * 4 / copy;
    for (const ActivationInfo& info : AllActivations()) {
      const char* name = info.name;
      const cuda::DeviceCall d = cuda::MakeDeviceCall(Call(name, n));
      const double fwd =
          DeviceSeconds(reps, [&] { CHECK_CUDA(cuda::LaunchForward<float>(d, x, y, 0)); });
      const double bwd = DeviceSeconds(
          reps, [&] { CHECK_CUDA(cuda::LaunchBackward<float>(d, x, dy, dx, nullptr, y, 0)); });
      for (auto [dir, seconds, bytes] :
           {std::tuple{"fwd", fwd, 2.0 * n * 4}, std::tuple{"bwd", bwd, 3.0 * n * 4}}) {
        const double bw = bytes / seconds;
        std::printf("| %s | %s | %lld | %.0f | %.0f | %.2f |\n", name, dir,
                    static_cast<long long>(n), bw / 1e9, copy_bw / 1e9, bw / copy_bw);
      }
    }
    cudaFree(x), cudaFree(y), cudaFree(dy), cudaFree(dx);
  }
}

void EndToEnd(Backend& gpu, int reps) {
  std::unique_ptr<Backend> cpu = NewCpuBackend();
  std::printf(
      "\n| function | elements | CPU (all cores) ms | CUDA incl. copies ms | CUDA / CPU time |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  for (const char* name : {"relu", "gelu"}) {
    for (int64_t n = 4096; n <= (int64_t{1} << 26); n *= 4) {
      ActivationCall c = Call(name, n);
      std::vector<float> x(n, 0.5f), y(n);
      const double tc = HostSeconds(reps, [&] { (void)cpu->Forward(c, x, absl::MakeSpan(y)); });
      const double tg = HostSeconds(reps, [&] {
        absl::Status s = gpu.Forward(c, x, absl::MakeSpan(y));
        if (!s.ok()) std::exit((std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1));
      });
      std::printf("| %s | %lld | %.3f | %.3f | %.2f |\n", name, static_cast<long long>(n), tc * 1e3,
                  tg * 1e3, tg / tc);
    }
  }
}

}  // namespace
}  // namespace actserve

int main(int argc, char** argv) {
  int reps = 21;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--reps=", 7) == 0) reps = std::atoi(argv[i] + 7);
  }
  absl::StatusOr<std::unique_ptr<actserve::Backend>> gpu = actserve::NewCudaBackend();
  if (!gpu.ok()) {
    std::printf("cuda_bench: nothing to measure: %s\n",
                std::string(gpu.status().message()).c_str());
    return 0;
  }
  std::printf("cuda_bench on %s\n\n", actserve::DescribeCudaDevices().c_str());
  actserve::DeviceThroughput(reps);
  actserve::EndToEnd(**gpu, reps);
  return 0;
}
