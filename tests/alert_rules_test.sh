#!/bin/sh
# The alert rules of deploy/prometheus/: `promtool check rules` and their unit tests
# (`promtool test rules`). Exit 77 (ctest: skipped) where promtool is absent (Debian package
# prometheus).
set -u
command -v promtool >/dev/null || { echo "SKIPPED: promtool is not installed (Debian package prometheus)"; exit 77; }
cd "$(dirname "$0")/../deploy/prometheus" || exit 1
promtool check rules alerts.yml && promtool test rules alerts_test.yml
