#include "kernels/cuda/cublas_library.h"

#include <dlfcn.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace actserve::cuda {
namespace {

// Resolves `name` in `handle` into `fn`; names the first one missing in `missing`.
template <class Fn>
void Resolve(void* handle, const char* name, Fn* fn, std::string* missing) {
  *fn = reinterpret_cast<Fn>(dlsym(handle, name));
  if (*fn == nullptr && missing->empty()) *missing = name;
}

absl::StatusOr<CublasLibrary> Open() {
  const std::string soname = absl::StrCat("libcublas.so.", CUBLAS_VER_MAJOR);
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::string reason = handle == nullptr ? dlerror() : "";
#ifdef ACTSERVE_CUDA_LIBRARY_DIR  // the toolkit's, as CMake found it
  if (handle == nullptr) {
    handle =
        dlopen(absl::StrCat(ACTSERVE_CUDA_LIBRARY_DIR, "/", soname).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) absl::StrAppend(&reason, "; ", dlerror());
  }
#endif
  if (handle == nullptr) {
    return absl::UnavailableError(absl::StrFormat("cannot load cuBLAS: %s", reason));
  }
  CublasLibrary lib;
  std::string missing;
  Resolve(handle, "cublasCreate_v2", &lib.create, &missing);
  Resolve(handle, "cublasDestroy_v2", &lib.destroy, &missing);
  Resolve(handle, "cublasSetStream_v2", &lib.set_stream, &missing);
  Resolve(handle, "cublasSetMathMode", &lib.set_math_mode, &missing);
  Resolve(handle, "cublasSgemm_v2", &lib.sgemm, &missing);
  Resolve(handle, "cublasDgemm_v2", &lib.dgemm, &missing);
  Resolve(handle, "cublasSgemv_v2", &lib.sgemv, &missing);
  Resolve(handle, "cublasDgemv_v2", &lib.dgemv, &missing);
  Resolve(handle, "cublasGetStatusString", &lib.status_string, &missing);
  Resolve(handle, "cublasGetStatusName", &lib.status_name, &missing);
  if (!missing.empty()) {
    return absl::UnavailableError(absl::StrFormat("%s has no %s", soname, missing));
  }
  return lib;  // the handle stays open for the process's life
}

}  // namespace

absl::StatusOr<const CublasLibrary*> LoadCublas() {
  static const absl::StatusOr<CublasLibrary>* const library =
      new absl::StatusOr<CublasLibrary>(Open());
  if (!library->ok()) return library->status();
  return &**library;
}

}  // namespace actserve::cuda
