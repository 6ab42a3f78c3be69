#!/bin/sh
# Runs one libFuzzer target as a ctest test: every input of its checked-in corpus (a regression
# test), then `SECONDS` of fuzzing from that corpus, and prints how many inputs ran.
#
#   tests/fuzz/run_fuzzer.sh FUZZER CORPUS_DIR SECONDS
#
# New inputs go to a temporary folder, never into the source tree; a crashing input is kept
# next to the build (crash-*), printed as a failure.
set -eu
fuzzer=$1 corpus=$2 seconds=$3
name=$(basename "$fuzzer")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$fuzzer" -runs=0 -rss_limit_mb=2048 "$corpus"
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
  -max_len=16384 -artifact_prefix="$(dirname "$fuzzer")/crash-$name-" "$work" "$corpus" \
  2> "$work.log" || { cat "$work.log"; rm -f "$work.log"; exit 1; }
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
rm -f "$work.log"
echo "fuzz: $name: $runs executions in $seconds seconds, $(ls "$corpus" | wc -l) seed inputs"
