// Launch geometry shared by the CUDA kernels (.cu files only): 256 threads a block, enough blocks
// to fill any current GPU, and grid-stride loops over the rest.
#ifndef ACTSERVE_KERNELS_CUDA_GRID_H_
#define ACTSERVE_KERNELS_CUDA_GRID_H_

#include <algorithm>
#include <cstdint>

namespace actserve::cuda {

inline constexpr int kThreads = 256;

// Blocks for `units` items of work, one per thread, at most 65536.
inline int Blocks(int64_t units) {
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>((units + kThreads - 1) / kThreads, int64_t{1} << 16)));
}

// The first item of this thread and the stride between its items.
__device__ inline int64_t GridFirst() {
  return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
}
__device__ inline int64_t GridStride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

}  // namespace actserve::cuda

#endif  // ACTSERVE_KERNELS_CUDA_GRID_H_
