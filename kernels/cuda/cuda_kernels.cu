#include "kernels/catalog/activation_list.h"
#include "kernels/catalog/element_rules.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/grid.h"

namespace actserve::cuda {
namespace {

// Element i's arguments: its channel's parameters and, where `draw`, its noise
// (catalog/element_rules.h); backward draws only where BackwardUsesNoise says so.
template <class Fn, class T, bool draw = true>
__device__ Args<T> ElementArgs(const DeviceCall& c, int64_t i) {
  // Every index into a.p is a constant: a.p[c.learnable] (an index known only at run time) put
  // the array in local memory, and each element paid a store and a load there (the functions
  // with parameters ran at 0.4-0.55 of a device copy on an H200, those without at 0.93).
  constexpr int kLearnable = LearnableParam(Fn::kInfo);
  Args<T> a;
#pragma unroll
  for (int k = 0; k < kMaxParams; ++k) a.p[k] = static_cast<T>(c.params[k]);
  if constexpr (kLearnable >= 0) {
    if (c.channel_params != nullptr) {
      a.p[kLearnable] = static_cast<T>(ChannelValue(
          c.channel_params, c.per_channel ? c.channels : 1, ChannelOf(i, c.inner, c.channels)));
    }
  }
  a.noise = static_cast<T>(draw ? NoiseSample(Fn::kInfo.noise, c.training, c.seed, i)
                                : ConstantNoise(Fn::kInfo.noise));
  return a;
}

// Elements a thread loads before it computes any. With one, each thread had a single load in
// flight and 16 Mi-element calls reached 0.4-0.55 of a device-to-device copy on an H200: too
// few bytes in flight to cover the memory's latency. The launches size their grids for this
// many elements a thread (ElementBlocks).
inline constexpr int kUnroll = 4;

inline int ElementBlocks(int64_t size) { return Blocks((size + kUnroll - 1) / kUnroll); }

// Calls body(i, x[i]) or body(i, x[i], dy[i]) for this thread's elements of the grid-stride
// loop, kUnroll at a time, every load of a batch issued before the first body runs.
template <class T, class Body>
__device__ void ForEachElement(int64_t size, const T* __restrict__ x, Body body) {
  const int64_t stride = GridStride();
  int64_t i = GridFirst();
  for (; i + (kUnroll - 1) * stride < size; i += kUnroll * stride) {
    T v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = x[i + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) body(i + u * stride, v[u]);
  }
  for (; i < size; i += stride) body(i, x[i]);
}
template <class T, class Body>
__device__ void ForEachElement(int64_t size, const T* __restrict__ x, const T* __restrict__ dy,
                               Body body) {
  const int64_t stride = GridStride();
  int64_t i = GridFirst();
  for (; i + (kUnroll - 1) * stride < size; i += kUnroll * stride) {
    T v[kUnroll], g[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      v[u] = x[i + u * stride];
      g[u] = dy[i + u * stride];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) body(i + u * stride, v[u], g[u]);
  }
  for (; i < size; i += stride) body(i, x[i], dy[i]);
}

template <class Fn, class T>
__global__ void ForwardKernel(DeviceCall c, const T* __restrict__ x, T* __restrict__ y) {
  ForEachElement(c.size, x,
                 [&](int64_t i, T v) { y[i] = ElementForward<Fn>(v, ElementArgs<Fn, T>(c, i)); });
}

template <class Fn, class T>
__global__ void BackwardKernel(DeviceCall c, const T* __restrict__ x, const T* __restrict__ dy,
                               T* __restrict__ dx, double* grads) {
  constexpr bool kLearnable = LearnableParam(Fn::kInfo) >= 0;
  double sum = 0;  // this thread's share of a single parameter's gradient
  ForEachElement(c.size, x, dy, [&](int64_t i, T v, T g) {
    const Args<T> a = ElementArgs<Fn, T, BackwardUsesNoise(Fn::kInfo)>(c, i);
    if constexpr (Fn::kInfo.backward_from_output) {
      if (c.from_output) {  // x holds the forward's output
        dx[i] = ElementBackwardFromOutput<Fn>(v, g, a);
        return;
      }
    }
    dx[i] = ElementBackward<Fn>(v, g, a);
    if constexpr (kLearnable) {
      if (grads != nullptr) {
        const double term = ParamGradientTerm<Fn>(v, g, a);
        if (c.per_channel) {
          atomicAdd(&grads[ChannelOf(i, c.inner, c.channels)], term);
        } else {
          sum += term;
        }
      }
    }
  });
  if constexpr (kLearnable) {
    // One atomic per warp: the warp's sums meet by shuffles first. `grads` and `per_channel` are
    // the same for every thread, so whole warps take this branch.
    if (grads != nullptr && !c.per_channel) {
      for (int offset = 16; offset > 0; offset /= 2)
        sum += __shfl_down_sync(0xffffffffu, sum, offset);
      if ((threadIdx.x & 31) == 0) atomicAdd(grads, sum);
    }
  }
}

template <class Fn, class T>
__global__ void RowForwardKernel(DeviceCall c, const T* __restrict__ x, T* __restrict__ y) {
  for (int64_t r = GridFirst(); r < c.rows; r += GridStride()) {
    Fn::template Forward<T>(x + r * c.row_length, c.row_length, c.params, y + r * c.out_row_length);
  }
}

template <class Fn, class T>
__global__ void RowBackwardKernel(DeviceCall c, const T* __restrict__ x, const T* __restrict__ dy,
                                  T* __restrict__ dx, T* scratch) {
  for (int64_t r = GridFirst(); r < c.rows; r += GridStride()) {
    const int64_t n = c.row_length;
    RowBackwardOf<Fn, T>(c.from_output, x + r * n, dy + r * c.out_row_length, n, c.params,
                         scratch + r * n, dx + r * n);
  }
}

template <class T>
struct DeviceKernels {
  cudaError_t (*forward)(const DeviceCall&, const T*, T*, cudaStream_t);
  cudaError_t (*backward)(const DeviceCall&, const T*, const T*, T*, double*, T*, cudaStream_t);
};

template <class Fn, class T>
cudaError_t Forward(const DeviceCall& c, const T* x, T* y, cudaStream_t s) {
  if constexpr (Fn::kInfo.layout == Layout::kLastAxis) {
    if (c.rows > 0) RowForwardKernel<Fn, T><<<Blocks(c.rows), kThreads, 0, s>>>(c, x, y);
  } else {
    if (c.size > 0) ForwardKernel<Fn, T><<<ElementBlocks(c.size), kThreads, 0, s>>>(c, x, y);
  }
  return cudaGetLastError();
}

template <class Fn, class T>
cudaError_t Backward(const DeviceCall& c, const T* x, const T* dy, T* dx, double* grads, T* scratch,
                     cudaStream_t s) {
  if constexpr (Fn::kInfo.layout == Layout::kLastAxis) {
    if (c.rows > 0) {
      RowBackwardKernel<Fn, T><<<Blocks(c.rows), kThreads, 0, s>>>(c, x, dy, dx, scratch);
    }
  } else {
    if (c.size > 0) {
      BackwardKernel<Fn, T><<<ElementBlocks(c.size), kThreads, 0, s>>>(c, x, dy, dx, grads);
    }
  }
  return cudaGetLastError();
}

template <class T>
constexpr DeviceKernels<T> kKernels[] = {
#define ACTSERVE_DEVICE_KERNELS_(Type) {&Forward<fn::Type, T>, &Backward<fn::Type, T>},
    ACTSERVE_ACTIVATIONS(ACTSERVE_DEVICE_KERNELS_)
#undef ACTSERVE_DEVICE_KERNELS_
};

}  // namespace

template <class T>
cudaError_t LaunchForward(const DeviceCall& call, const T* x, T* y, cudaStream_t stream) {
  return kKernels<T>[call.id].forward(call, x, y, stream);
}

template <class T>
cudaError_t LaunchBackward(const DeviceCall& call, const T* x, const T* dy, T* dx, double* grads,
                           T* scratch, cudaStream_t stream) {
  return kKernels<T>[call.id].backward(call, x, dy, dx, grads, scratch, stream);
}

template cudaError_t LaunchForward<float>(const DeviceCall&, const float*, float*, cudaStream_t);
template cudaError_t LaunchForward<double>(const DeviceCall&, const double*, double*, cudaStream_t);
template cudaError_t LaunchBackward<float>(const DeviceCall&, const float*, const float*, float*,
                                           double*, float*, cudaStream_t);
template cudaError_t LaunchBackward<double>(const DeviceCall&, const double*, const double*,
                                            double*, double*, double*, cudaStream_t);

}  // namespace actserve::cuda
