#!/bin/sh
# Runs a GPU bundle (made by kernels/gpu/bundle.sh) on this machine: the CUDA tests, then the
# benchmarks, in at most 8 minutes together, and writes REPORT_DIR/report.md (tests passed,
# skipped and failed per binary, the failures' names, the benchmarks' tables) with each binary's
# full output beside it. Needs the NVIDIA driver and cuBLAS 13 (a CUDA 13 toolkit or a Python
# package that ships it); nothing else. Without a device every GPU test reports itself skipped.
# Exits non-zero if a test failed or a binary could not run.
#
#   run.sh [REPORT_DIR]     (default: $OUT if set, else the bundle's folder)
set -u

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-$here}}
mkdir -p "$out"
report="$out/report.md"
budget=480                       # seconds for everything
start=$(date +%s)
tests="cuda_backend_test cuda_engine_test device_call_test cublas_library_test"

# The bundled libraries first; then cuBLAS 13 from wherever this machine has it.
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cublas=""
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu \
  $(python3 -c 'import nvidia, os; [print(os.path.join(p, "cublas", "lib")) for p in nvidia.__path__]' 2>/dev/null); do
  if [ -e "$d/libcublas.so.13" ]; then
    cublas="$d/libcublas.so.13"
    LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
    break
  fi
done
export LD_LIBRARY_PATH

left() { echo $((budget - ($(date +%s) - start))); }

# run NAME LIMIT ARGS...: runs a binary with at most LIMIT seconds (less if the budget is
# nearly spent), its output in NAME.log; prints the exit status (124: out of time).
run() {
  name=$1 limit=$2
  shift 2
  l=$(left)
  [ "$l" -lt "$limit" ] && limit=$l
  if [ "$limit" -le 5 ]; then
    echo "not run: the 8-minute budget was spent" > "$out/$name.log"
    echo 124
    return
  fi
  timeout "$limit" "$here/bin/$name" "$@" > "$out/$name.log" 2>&1
  echo $?
}

# count LOG WORD: the N of gtest's "[  WORD  ] N tests" summary line, 0 if absent.
count() {
  sed -n "s/^\[ *$2 *\] \([0-9]*\) tests\{0,1\}[,.].*/\1/p" "$1" | tail -n 1 | grep . || echo 0
}

failed_any=0
{
  echo "# GPU check"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), host: $(hostname)"
  echo "- bundle: $(sed -n 's/^commit: //p' "$here/MANIFEST" 2>/dev/null)"
  if command -v nvidia-smi > /dev/null 2>&1; then
    echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 1)"
  else
    echo "- GPU: none (no nvidia-smi)"
  fi
  echo "- cuBLAS: ${cublas:-not found (the training engine tests will fail or skip)}"
  echo
  echo "## Tests"
  echo
  echo "| binary | passed | skipped | failed | exit | seconds |"
  echo "|---|---:|---:|---:|---:|---:|"
} > "$report"

failures=""
for t in $tests; do
  t0=$(date +%s)
  rc=$(run "$t" 240 --gtest_color=no)
  log="$out/$t.log"
  p=$(count "$log" PASSED) s=$(count "$log" SKIPPED) f=$(count "$log" FAILED)
  echo "| $t | $p | $s | $f | $rc | $(($(date +%s) - t0)) |" >> "$report"
  [ "$rc" -ne 0 ] && failed_any=1
  names=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_/.]*\)\(, .*\| (.*\)\{0,1\}$/\1/p' "$log" | sort -u)
  [ -n "$names" ] && failures="$failures$(printf '\n- %s: %s' "$t" "$(echo "$names" | tr '\n' ' ')")"
done
if [ -n "$failures" ]; then
  printf '\nFailed:%s\n' "$failures" >> "$report"
fi

bench() {
  name=$1 limit=$2
  shift 2
  t0=$(date +%s)
  rc=$(run "$name" "$limit" "$@")
  {
    echo
    echo "## $name $* (exit $rc, $(($(date +%s) - t0)) s)"
    echo
    echo '```'
    tail -n 80 "$out/$name.log"
    echo '```'
  } >> "$report"
  [ "$rc" -ne 0 ] && failed_any=1
}
bench cuda_bench 150 --reps=5
bench train_bench 150 --engine=cuda --samples=3

echo >> "$report"
echo "Total: $(($(date +%s) - start)) s of the ${budget} s budget." >> "$report"
cat "$report"
exit $failed_any
