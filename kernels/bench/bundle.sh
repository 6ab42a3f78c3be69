#!/bin/sh
# Builds kernels_bench for a given CPU (-march) and ../shared/bench's onednn_act here, and puts
# them, every shared library they load except glibc's, compare.py and ../shared/bench's Python
# harness into one folder. On a machine that has Python and PyTorch but no compiler and none of
# the build dependencies (the device tool's GPU machine, whose CPU is an Intel Xeon), the folder's
# run.sh runs compare.py as it runs here: the figures for a CPU this machine is not.
#
#   kernels/bench/bundle.sh MARCH [BUNDLE_DIR]   here (default: build/bench-bundle-MARCH), e.g.
#                                                MARCH=sapphirerapids for a 4th-gen Xeon
#   BUNDLE_DIR/run.sh [OUT [compare.py options]] there: OUT/report.md and the raw results
#   /usr/bin/python3 kernels/bench/compare.py --report-only --out OUT    here, for the report again
#
# kernels_bench is built as a build on that machine would build it (ACTSERVE_MARCH=native there
# is MARCH here), in build-MARCH. onednn_act is ../shared/bench's own build (its flags are fixed
# there; oneDNN picks its kernels at run time by itself). Fails above the device tool's 64 MiB.
set -eu

[ $# -ge 1 ] || {
  echo "usage: $0 MARCH [BUNDLE_DIR]" >&2
  exit 2
}
march=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/cmake/bundle_lib.sh"
shared=$(cd "$root/../shared/bench" && pwd)
build=$root/build-$march
bundle=${2:-$root/build/bench-bundle-$march}

fail() {
  echo "bundle.sh: $*" >&2
  exit 1
}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DACTSERVE_MARCH="$march" \
  -DACTSERVE_CUDA=OFF -DACTSERVE_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache > /dev/null
cmake --build "$build" -j2 --target kernels_bench > "$build/bundle-build.log" 2>&1 ||
  fail "building kernels_bench for -march=$march failed: see $build/bundle-build.log"
cmake -S "$shared" -B "$build/shared-bench" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build/shared-bench" -j2 --target onednn_act >> "$build/bundle-build.log" 2>&1 ||
  fail "building onednn_act failed (deploy/install-deps.sh --bench installs oneDNN)"

rm -rf "$bundle"
mkdir -p "$bundle/kernels" "$bundle/bin" "$bundle/shared"
cp "$build/kernels/kernels_bench" "$bundle/kernels/"
cp "$build/shared-bench/onednn_act" "$bundle/bin/"
strip --strip-unneeded "$bundle/kernels/kernels_bench" "$bundle/bin/onednn_act"
cp "$root/kernels/bench/compare.py" "$root/kernels/bench/torch_rows.py" "$bundle/"
cp "$shared/benchlib.py" "$shared/torch_act.py" "$bundle/shared/"

bundle_libs "$bundle" "$bundle/kernels/kernels_bench" "$bundle/bin/onednn_act"

cat > "$bundle/run.sh" << 'EOF'
#!/bin/sh
# Runs compare.py on this machine with the bundled binaries and the python3 on PATH (it must
# import torch). OUT defaults to $OUT, else results/ in the bundle.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-$here/results}}
[ $# -ge 1 ] && shift
mkdir -p "$out"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ldd "$here/kernels/kernels_bench" "$here/bin/onednn_act" | grep 'not found'; then
  echo "run.sh: a library above is missing on this machine" >&2
  exit 1
fi
cp "$here/MANIFEST" "$out/"
exec python3 "$here/compare.py" --build "$here" --shared "$here/shared" --out "$out" \
  --python "$(command -v python3)" --onednn-bin "$here/bin/onednn_act" "$@"
EOF
chmod +x "$bundle/run.sh"
{
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "march: $march"
} > "$bundle/MANIFEST"

bundle_check_size "$bundle"
