// cuBLAS, opened with dlopen when the first GPU training engine needs it instead of linked.
//
// Why: libcublasLt carries about 100 KiB of static TLS. Linked into a program, that TLS is carved
// out of every new thread's stack, and civetweb (the metrics endpoint's HTTP server, built with
// small thread stacks) then fails to start its workers ("Cannot create first worker thread").
// Opened with dlopen, the library's TLS is allocated per thread on first use instead.
#ifndef ACTSERVE_KERNELS_CUDA_CUBLAS_LIBRARY_H_
#define ACTSERVE_KERNELS_CUDA_CUBLAS_LIBRARY_H_

#include <cublas_v2.h>

#include "absl/status/statusor.h"

namespace actserve::cuda {

// The cuBLAS entry points the training engine uses.
struct CublasLibrary {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSgemm_v2) sgemm;
  decltype(&cublasDgemm_v2) dgemm;
  decltype(&cublasSgemv_v2) sgemv;
  decltype(&cublasDgemv_v2) dgemv;
  decltype(&cublasGetStatusString) status_string;
  decltype(&cublasGetStatusName) status_name;
};

// The library of the cuBLAS major version this build was compiled against, found by the dynamic
// linker's search or in the toolkit's library directory; opened once per process. UNAVAILABLE,
// with the loader's reason, when it cannot be opened or lacks an entry point.
absl::StatusOr<const CublasLibrary*> LoadCublas();

}  // namespace actserve::cuda

#endif  // ACTSERVE_KERNELS_CUDA_CUBLAS_LIBRARY_H_
