#!/bin/sh
# Installs the Debian 12 packages that actserve needs. Idempotent and quick when nothing is
# missing (no apt call at all). Run as root or with sudo available.
#
#   deploy/install-deps.sh          build and test dependencies (with NumPy, PyTorch and pip for
#                                   the Python client and its tests)
#   deploy/install-deps.sh --bench  plus what the comparison benchmarks run (oneDNN, OpenBLAS):
#                                   Debian's oneDNN CMake config (libdnnl-dev) needs OpenCL's
#                                   (ocl-icd-opencl-dev); without it onednn_act cannot be built
set -eu

PACKAGES="cmake make g++ pkg-config libabsl-dev libeigen3-dev libgtest-dev libgmock-dev
  libbenchmark-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev prometheus-cpp-dev
  prometheus curl python3 python3-grpcio python3-protobuf python3-numpy python3-torch
  python3-pip python3-setuptools python3-wheel nginx docker-compose python3-yaml clang-format
  git clang-14 libfuzzer-14-dev libclang-rt-14-dev llvm-14"
# python3-numpy, python3-torch: tests/training_parity_test.py checks training against PyTorch.
# clang-14, libfuzzer-14-dev, libclang-rt-14-dev: the fuzz targets and the ASan/UBSan and TSan
# builds of tests/sanitizers/ (each skips, exit 77, where they are missing); llvm-14: their
# symbolizer (reports name functions, and tsan.supp's race: entries match them).
# TLS and tokens (server/auth/): libcrypto for SHA-256 and key checks, openssl for the tests' CA.
PACKAGES="$PACKAGES libssl-dev openssl"
# /metrics over HTTPS (--metrics_tls): libmicrohttpd with GnuTLS (civetweb's TLS crashes on
# Debian 12, server/auth/README.md).
PACKAGES="$PACKAGES libmicrohttpd-dev"
# Durable training jobs (--state_dir, server/jobs/): SQLite for the job store, zlib's CRC-32
# for the checksummed records.
PACKAGES="$PACKAGES libsqlite3-dev zlib1g-dev"
if [ "${1:-}" = "--bench" ]; then
  PACKAGES="$PACKAGES libdnnl-dev ocl-icd-opencl-dev libopenblas0-openmp"
fi

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
