#!/bin/sh
# Builds the project with clang-14 and a sanitizer in its own build folder and runs the chosen
# ctest tests there: the ASan+UBSan and TSan stages of the README's test command.
#
#   tests/sanitizers/sanitized_build.sh asan|tsan SOURCE_DIR BUILD_DIR TARGET...
#
# Builds the TARGETs and runs their tests, picked by label: a gtest target labels its cases with
# its name (actserve_cc), a fuzz test is labelled with its target's name too (tests/fuzz).
#
# Exit 77 (ctest: skipped) with the reason where clang-14 or its sanitizer runtimes are missing
# (deploy/install-deps.sh installs them). The CUDA backend and the benchmarks are left out: the
# sanitizers check the host code, and CUDA's runtime is not instrumented. A sanitizer report
# fails the test that triggered it (halt_on_error), with its stack in the output.
set -eu
kind=$1 src=$2 build=$3
shift 3
regex="^($(echo "$@" | tr ' ' '|'))\$"

CXX=$(command -v clang++-14 || true)
CC=$(command -v clang-14 || true)
if [ -z "$CXX" ] || [ -z "$CC" ]; then
  echo "SKIPPED: clang-14 is not installed (Debian package clang-14; deploy/install-deps.sh)"
  exit 77
fi
case "$kind" in
  # The ASan build also builds the libFuzzer targets (coverage instrumentation everywhere).
  asan) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"
        options="-DACTSERVE_FUZZ=ON" ;;
  tsan) flags="-fsanitize=thread" options="" ;;
  *) echo "unknown sanitizer '$kind'; expected asan or tsan" >&2; exit 2 ;;
esac
# Reports name functions (and tsan.supp's race: entries match them) only with a symbolizer:
# clang-14's, by its full path (Debian installs no unversioned llvm-symbolizer with it).
symbolizer=$(dirname "$(readlink -f "$CXX")")/llvm-symbolizer
if [ ! -x "$symbolizer" ]; then
  echo "SKIPPED: $symbolizer is missing (Debian package llvm-14; deploy/install-deps.sh)"
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int main() { return 0; }' > "$probe/p.cc"
if ! "$CXX" $flags "$probe/p.cc" -o "$probe/p" 2> "$probe/err" || ! "$probe/p"; then
  echo "SKIPPED: clang-14 cannot build with $flags (libclang-rt-14-dev missing?):"
  cat "$probe/err"
  exit 77
fi
if [ "$kind" = asan ]; then
  echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
    > "$probe/f.cc"
  if ! "$CXX" -fsanitize=fuzzer "$probe/f.cc" -o "$probe/f" 2> "$probe/err"; then
    echo "SKIPPED: clang-14 cannot link libFuzzer (Debian package libfuzzer-14-dev):"
    cat "$probe/err"
    exit 77
  fi
fi

launcher=""
command -v ccache > /dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
# -O1: sanitizer reports keep their stacks and the build stays short on two cores.
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="-O1 -g1 -fno-omit-frame-pointer $flags" \
  -DACTSERVE_CUDA=OFF -DACTSERVE_BUILD_BENCHMARKS=OFF $options $launcher > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"${ACTSERVE_SANITIZER_JOBS:-2}" --target "$@"

common="halt_on_error=1:external_symbolizer_path=$symbolizer"
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="$common:print_stacktrace=1"
export TSAN_OPTIONS="$common:second_deadlock_stack=1:suppressions=$src/tests/sanitizers/tsan.supp"
if [ "$kind" = tsan ]; then
  # Debian's Abseil is not instrumented: tsan_absl_shim.cc says why this is needed.
  "$CXX" -std=c++20 -O1 -shared -fPIC "$src/tests/sanitizers/tsan_absl_shim.cc" \
    -o "$build/tsan_absl_shim.so" -ldl
  export LD_PRELOAD="$build/tsan_absl_shim.so"
fi
# Left out here, run by the Release build: tests that measure the process's memory (glibc's
# mallinfo2, RSS after a free): the sanitizers' allocators replace glibc's and keep freed memory
# in quarantine.
excluded="EstimateBoundsWhatTrainingAllocates|FreesItsMemory"
ctest --test-dir "$build" -L "$regex" -E "$excluded" -j2 --output-on-failure --no-tests=error
