#!/bin/sh
# Builds the CUDA tests and benchmarks here (nvcc and the build dependencies are needed) and puts
# them, with every shared library they load except glibc's and the NVIDIA driver's, into one
# folder that runs on a GPU machine that has neither gRPC, Abseil, Eigen nor GoogleTest. Fails
# if the folder would exceed the device tool's 64 MiB. Run the folder's run.sh there (and here,
# as a dry run: every GPU test then reports itself skipped).
#
#   kernels/gpu/bundle.sh [BUILD_DIR [BUNDLE_DIR]]    (defaults: build, build/gpu-bundle)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/cmake/bundle_lib.sh"
build=${1:-$root/build}
bundle=${2:-$build/gpu-bundle}
tests="cuda_backend_test cuda_engine_test device_call_test cublas_library_test"
benches="cuda_bench train_bench"

fail() {
  echo "bundle.sh: $*" >&2
  exit 1
}

[ -f "$build/CMakeCache.txt" ] ||
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache
grep -q '^CMAKE_CUDA_COMPILER:[A-Z]*=.' "$build/CMakeCache.txt" ||
  fail "$build was configured without CUDA (no nvcc found, or -DACTSERVE_CUDA=OFF)"
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $tests $benches ||
  fail "building the CUDA targets failed (device_call_test exists only where CUDA is enabled)"

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
for t in $tests $benches; do
  [ -x "$build/kernels/$t" ] || fail "$build/kernels/$t was not built (is CUDA enabled?)"
  cp "$build/kernels/$t" "$bundle/bin/"
  strip --strip-unneeded "$bundle/bin/$t"
done

# The CUDA runtime is linked statically; cuBLAS is opened at run time from the machine's CUDA
# (run.sh finds it).
# shellcheck disable=SC2046
bundle_libs "$bundle" $(for t in $tests $benches; do echo "$bundle/bin/$t"; done)

cp "$root/kernels/gpu/run.sh" "$bundle/run.sh"
chmod +x "$bundle/run.sh"
{
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "nvcc: $(grep '^CMAKE_CUDA_COMPILER:' "$build/CMakeCache.txt" | cut -d= -f2)"
  echo "tests: $tests"
  echo "benchmarks: $benches"
} > "$bundle/MANIFEST"

bundle_check_size "$bundle" || exit 1
echo "run it with: $bundle/run.sh [REPORT_DIR]"
