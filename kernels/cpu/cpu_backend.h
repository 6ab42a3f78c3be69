// The CPU backend: SIMD kernels (cpu/simd.h) over the catalog's definitions, split across a
// thread pool for large tensors.
#ifndef ACTSERVE_KERNELS_CPU_CPU_BACKEND_H_
#define ACTSERVE_KERNELS_CPU_CPU_BACKEND_H_

#include <cstdint>
#include <memory>

#include "kernels/backend.h"

namespace actserve {

struct CpuBackendOptions {
  // Threads one call may use, the caller's included. 0: the machine's hardware threads.
  int threads = 0;
  // Work below which a call runs on the caller's thread alone. Work is elements weighted by the
  // function's cost class (select 1, arithmetic 2, transcendental 4). Measured on 2 cores
  // (kernels_bench crossover/*): waking a second thread costs ~7 us, and two threads start to win
  // at ~200 Ki elements for relu and ~64 Ki for tanh.
  int64_t parallel_threshold = 256 * 1024;
  // Outputs of at least this many bytes are written with non-temporal stores (bypassing the
  // caches). Measured with kernels/bench: see kernels/README.md.
  size_t streaming_store_bytes = size_t{16} << 20;
};

std::unique_ptr<Backend> NewCpuBackend(const CpuBackendOptions& options = {});

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CPU_CPU_BACKEND_H_
