# Settings shared by the whole project and by kernels/ built on its own.
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
