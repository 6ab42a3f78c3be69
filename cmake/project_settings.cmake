# Settings shared by the whole project and by kernels/ built on its own (which includes this
# file from ../cmake).
# The instruction set to compile for: "native" (this machine: fastest, not portable), a
# -march level such as "x86-64-v3" (AVX2 and FMA: portable images), or "" (compiler default).
set(ACTSERVE_MARCH "native" CACHE STRING "Value for -march (empty: compiler default)")
option(ACTSERVE_BUILD_TESTS "Build the tests" ON)
option(ACTSERVE_BUILD_BENCHMARKS "Build the benchmarks (needs Google Benchmark)" ON)

if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(ACTSERVE_BUILD_TESTS)
  enable_testing()
endif()

# The CUDA backend is built wherever a CUDA toolkit is found (nvcc on PATH, in $CUDACXX, or in
# /usr/local/cuda), with or without a GPU: CI compiles it so that it cannot rot. Elsewhere the
# build has the CPU backend alone and kernels/cuda/cuda_unavailable.cc answers for CUDA.
option(ACTSERVE_CUDA "Build the CUDA backend where a CUDA toolkit is found" ON)
set(ACTSERVE_HAVE_CUDA OFF)
if(ACTSERVE_CUDA)
  if(NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80-real 90)  # A100 and H100 code, PTX for newer GPUs
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # The .cu files (and the headers they include) are C++17: the newest dialect CMake 3.25
    # (Debian 12) knows for nvcc. Everything else is C++20.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(ACTSERVE_HAVE_CUDA ON)
  endif()
endif()
message(STATUS "actserve: CUDA backend ${ACTSERVE_HAVE_CUDA}")
