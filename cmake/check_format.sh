#!/usr/bin/env bash
# Checks that the C++ files git tracks under ROOT (the argument) are clang-format clean. Exits 0
# when they are, 1 naming the files that are not, and 77 (skipped, saying why) without
# clang-format or outside a git checkout.
set -euo pipefail
cd "$1"
if ! command -v clang-format > /dev/null; then
  echo "format_test skipped: clang-format is not installed (deploy/install-deps.sh installs it)"
  exit 77
fi
if ! command -v git > /dev/null; then
  echo "format_test skipped: git is not installed, so there is no list of tracked files"
  exit 77
fi
if ! git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  echo "format_test skipped: $PWD is not a git checkout, so there is no list of tracked files"
  exit 77
fi
mapfile -t files < <(git ls-files -- '*.cc' '*.h' '*.cu' '*.cuh')
if clang-format --dry-run -Werror "${files[@]}"; then
  echo "format_test: ${#files[@]} files formatted as .clang-format says"
  exit 0
fi
echo "format_test: run clang-format -i on the files above"
exit 1
