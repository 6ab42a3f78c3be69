#include <cmath>

#include "kernels/cuda/grid.h"
#include "kernels/cuda/train_kernels.h"
#include "kernels/train/diagnostics.h"
#include "kernels/train/loss_terms.h"

namespace actserve::cuda {
namespace {

template <class T>
__global__ void GatherRowsKernel(const T* __restrict__ src, int64_t cols,
                                 const int64_t* __restrict__ order, int64_t rows,
                                 T* __restrict__ dst) {
  for (int64_t i = GridFirst(); i < rows * cols; i += GridStride()) {
    const int64_t r = i / cols, c = i % cols;
    dst[i] = src[order[r] * cols + c];
  }
}

template <class T>
__global__ void BroadcastRowsKernel(const T* __restrict__ b, int64_t rows, int64_t cols,
                                    T* __restrict__ z) {
  for (int64_t i = GridFirst(); i < rows * cols; i += GridStride()) z[i] = b[i % cols];
}

template <class T>
__global__ void LossKernel(LossKind kind, const T* __restrict__ out, const T* __restrict__ targets,
                           int64_t rows, int64_t cols, int64_t target_cols, T* grad,
                           double* __restrict__ row_loss, double* __restrict__ row_correct) {
  for (int64_t r = GridFirst(); r < rows; r += GridStride()) {
    const T* o = out + r * cols;
    const T* t = targets + r * target_cols;
    T* g = grad == nullptr ? nullptr : grad + r * cols;
    double loss = 0, correct = 0;
    bool right = false;
    if (kind == LossKind::kSoftmaxCrossEntropy) {
      loss = train::SoftmaxCrossEntropyRow(o, cols, static_cast<int64_t>(t[0]),
                                           static_cast<double>(rows), g, &right);
      correct = right;
    } else {
      const double count = static_cast<double>(rows * cols);
      for (int64_t c = 0; c < cols; ++c) {
        const T target = t[target_cols == 1 ? 0 : c];
        T* gc = g == nullptr ? nullptr : g + c;
        if (kind == LossKind::kSquaredError) {
          loss += train::SquaredErrorTerm(o[c], target, count, gc);
        } else {
          loss += train::SigmoidCrossEntropyTerm(o[c], target, count, gc, &right);
          correct += right;
        }
      }
    }
    row_loss[r] = loss;
    row_correct[r] = correct;
  }
}

template <class T>
__device__ double Term(Reduction kind, T v) {
  switch (kind) {
    case Reduction::kSum:
      return static_cast<double>(v);
    case Reduction::kSaturatedCount:
      return train::IsSaturated(v) ? 1.0 : 0.0;
    default:  // kSumOfSquares, kNorm
      return static_cast<double>(v) * static_cast<double>(v);
  }
}

// Sums the block's values in shared memory by halving; thread 0 gets the total. The order
// depends on the block size alone.
__device__ double BlockSum(double v) {
  __shared__ double s[kThreads];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  return s[0];
}

// Stage one: each block sums its grid-stride share into partials[blockIdx.x].
template <class T>
__global__ void PartialSumKernel(Reduction kind, const T* __restrict__ v, int64_t n,
                                 double* __restrict__ partials) {
  double sum = 0;
  for (int64_t i = GridFirst(); i < n; i += GridStride()) sum += Term(kind, v[i]);
  const double total = BlockSum(sum);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Stage two, one block: out[0] += the sum of `count` partials (its root for a norm).
__global__ void FinalSumKernel(Reduction kind, const double* __restrict__ partials, int count,
                               double* out) {
  const double total = BlockSum(threadIdx.x < count ? partials[threadIdx.x] : 0.0);
  if (threadIdx.x == 0) out[0] += kind == Reduction::kNorm ? sqrt(total) : total;
}

template <class T>
__global__ void MarkAliveKernel(const T* __restrict__ fp, int64_t rows, int64_t cols,
                                uint8_t* __restrict__ alive) {
  for (int64_t i = GridFirst(); i < rows * cols; i += GridStride()) {
    if (fp[i] != T(0)) alive[i % cols] = 1;  // every writer writes the same value
  }
}

template <class T>
__global__ void UpdateKernel(train::UpdateRule<T> rule, T* __restrict__ p, const T* __restrict__ g,
                             T* m, T* v, int64_t n) {
  for (int64_t i = GridFirst(); i < n; i += GridStride()) {
    T unused = 0;
    rule.Apply(p[i], g[i], m == nullptr ? unused : m[i], v == nullptr ? unused : v[i]);
  }
}

template <class From, class To>
__global__ void ConvertKernel(const From* __restrict__ src, int64_t n, To* __restrict__ dst) {
  for (int64_t i = GridFirst(); i < n; i += GridStride()) dst[i] = static_cast<To>(src[i]);
}

template <class T>
__global__ void FillKernel(T* p, int64_t n, T value) {
  for (int64_t i = GridFirst(); i < n; i += GridStride()) p[i] = value;
}

}  // namespace

template <class T>
cudaError_t LaunchGatherRows(const T* src, int64_t cols, const int64_t* order, int64_t rows, T* dst,
                             cudaStream_t stream) {
  if (rows * cols == 0) return cudaSuccess;
  GatherRowsKernel<T><<<Blocks(rows * cols), kThreads, 0, stream>>>(src, cols, order, rows, dst);
  return cudaGetLastError();
}

template <class T>
cudaError_t LaunchBroadcastRows(const T* b, int64_t rows, int64_t cols, T* z, cudaStream_t stream) {
  if (rows * cols == 0) return cudaSuccess;
  BroadcastRowsKernel<T><<<Blocks(rows * cols), kThreads, 0, stream>>>(b, rows, cols, z);
  return cudaGetLastError();
}

template <class T>
cudaError_t LaunchLoss(LossKind kind, const T* out, const T* targets, int64_t rows, int64_t cols,
                       int64_t target_cols, T* grad, double* row_loss, double* row_correct,
                       cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  LossKernel<T><<<Blocks(rows), kThreads, 0, stream>>>(kind, out, targets, rows, cols, target_cols,
                                                       grad, row_loss, row_correct);
  return cudaGetLastError();
}

template <class T>
cudaError_t LaunchAccumulate(Reduction kind, const T* v, int64_t n, double* partials, double* out,
                             cudaStream_t stream) {
  const int blocks = std::min(Blocks(n), kReducePartials);
  PartialSumKernel<T><<<blocks, kThreads, 0, stream>>>(kind, v, n, partials);
  FinalSumKernel<<<1, kThreads, 0, stream>>>(kind, partials, blocks, out);
  return cudaGetLastError();
}

template <class T>
cudaError_t LaunchMarkAlive(const T* fp, int64_t rows, int64_t cols, uint8_t* alive,
                            cudaStream_t stream) {
  if (rows * cols == 0) return cudaSuccess;
  MarkAliveKernel<T><<<Blocks(rows * cols), kThreads, 0, stream>>>(fp, rows, cols, alive);
  return cudaGetLastError();
}

template <class T>
cudaError_t LaunchUpdate(const train::UpdateRule<T>& rule, T* p, const T* g, T* m, T* v, int64_t n,
                         cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  UpdateKernel<T><<<Blocks(n), kThreads, 0, stream>>>(rule, p, g, m, v, n);
  return cudaGetLastError();
}

template <class From, class To>
cudaError_t LaunchConvert(const From* src, int64_t n, To* dst, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  ConvertKernel<From, To><<<Blocks(n), kThreads, 0, stream>>>(src, n, dst);
  return cudaGetLastError();
}

template <class T>
cudaError_t LaunchFill(T* p, int64_t n, T value, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  FillKernel<T><<<Blocks(n), kThreads, 0, stream>>>(p, n, value);
  return cudaGetLastError();
}

#define ACTSERVE_TRAIN_KERNELS_(T)                                                                 \
  template cudaError_t LaunchGatherRows<T>(const T*, int64_t, const int64_t*, int64_t, T*,         \
                                           cudaStream_t);                                          \
  template cudaError_t LaunchBroadcastRows<T>(const T*, int64_t, int64_t, T*, cudaStream_t);       \
  template cudaError_t LaunchLoss<T>(LossKind, const T*, const T*, int64_t, int64_t, int64_t, T*,  \
                                     double*, double*, cudaStream_t);                              \
  template cudaError_t LaunchAccumulate<T>(Reduction, const T*, int64_t, double*, double*,         \
                                           cudaStream_t);                                          \
  template cudaError_t LaunchMarkAlive<T>(const T*, int64_t, int64_t, uint8_t*, cudaStream_t);     \
  template cudaError_t LaunchUpdate<T>(const train::UpdateRule<T>&, T*, const T*, T*, T*, int64_t, \
                                       cudaStream_t);                                              \
  template cudaError_t LaunchFill<T>(T*, int64_t, T, cudaStream_t);
ACTSERVE_TRAIN_KERNELS_(float)
ACTSERVE_TRAIN_KERNELS_(double)
#undef ACTSERVE_TRAIN_KERNELS_
template cudaError_t LaunchConvert<float, double>(const float*, int64_t, double*, cudaStream_t);
template cudaError_t LaunchConvert<double, float>(const double*, int64_t, float*, cudaStream_t);
template cudaError_t LaunchConvert<double, double>(const double*, int64_t, double*, cudaStream_t);

}  // namespace actserve::cuda
