// The device side of GPU training (cuda_engine.cc) besides the matrix products (cuBLAS) and the
// activations (cuda_kernels.h): batch gathering, bias rows, the losses, the optimizers' updates
// and the diagnostics' sums. The arithmetic is the CPU's: loss_terms.h, update_rule.h and
// diagnostics.h. Matrices are row-major; buffers are device pointers; launches are asynchronous
// on `stream` and return the launch's error.
#ifndef ACTSERVE_KERNELS_CUDA_TRAIN_KERNELS_H_
#define ACTSERVE_KERNELS_CUDA_TRAIN_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/train/update_rule.h"

namespace actserve::cuda {

// dst row r = src row order[r], for r < rows; rows of `cols` values.
template <class T>
cudaError_t LaunchGatherRows(const T* src, int64_t cols, const int64_t* order, int64_t rows, T* dst,
                             cudaStream_t stream);

// Every row of z (rows x cols) = b (cols values).
template <class T>
cudaError_t LaunchBroadcastRows(const T* b, int64_t rows, int64_t cols, T* z, cudaStream_t stream);

// The losses of `out` (rows x cols) against `targets` (rows x target_cols: one per output, or one
// per row), one thread per row: row_loss[r] receives the sum of row r's terms, row_correct[r] its
// correct predictions, and `grad` (when not null) the gradient of the mean loss, whose
// denominator is rows * cols (squared error, sigmoid) or rows (softmax; targets are class
// indices).
enum class LossKind { kSquaredError, kSigmoidCrossEntropy, kSoftmaxCrossEntropy };
template <class T>
cudaError_t LaunchLoss(LossKind kind, const T* out, const T* targets, int64_t rows, int64_t cols,
                       int64_t target_cols, T* grad, double* row_loss, double* row_correct,
                       cudaStream_t stream);

// out[0] += a reduction of v[0, n), in double, in an order fixed by n alone (the same bits from
// run to run): the sum, the sum of squares, the count of values that IsSaturated, or the square
// root of the sum of squares (a norm). `partials` holds kReducePartials doubles of scratch.
enum class Reduction { kSum, kSumOfSquares, kSaturatedCount, kNorm };
inline constexpr int kReducePartials = 256;
template <class T>
cudaError_t LaunchAccumulate(Reduction kind, const T* v, int64_t n, double* partials, double* out,
                             cudaStream_t stream);

// alive[c] = 1 for every column c of fp (rows x cols) that holds a nonzero value.
template <class T>
cudaError_t LaunchMarkAlive(const T* fp, int64_t rows, int64_t cols, uint8_t* alive,
                            cudaStream_t stream);

// rule.Apply to each of n elements of p with gradient g and moments m, v (null where the rule
// reads none).
template <class T>
cudaError_t LaunchUpdate(const train::UpdateRule<T>& rule, T* p, const T* g, T* m, T* v, int64_t n,
                         cudaStream_t stream);

// dst[i] = src[i] converted, for i < n.
template <class From, class To>
cudaError_t LaunchConvert(const From* src, int64_t n, To* dst, cudaStream_t stream);

// p[i] = value, for i < n.
template <class T>
cudaError_t LaunchFill(T* p, int64_t n, T value, cudaStream_t stream);

}  // namespace actserve::cuda

#endif  // ACTSERVE_KERNELS_CUDA_TRAIN_KERNELS_H_
