#!/bin/sh
# deploy/run-demo.sh refuses to demonstrate someone else's server: with an actserve already
# serving on its address it exits 1 saying so, and leaves that server alone.
#   tests/run_demo_test.sh BUILD_DIR
set -u
BUILD=$(cd "$1" && pwd)
SOURCE=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
trap 'kill $other 2>/dev/null; rm -f "$out"' EXIT
"$BUILD/server/actserve" --address=127.0.0.1:0 --metrics_address= >"$out" 2>&1 &
other=$!
address=
for _ in $(seq 100); do
  address=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$out" | head -1)
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || { echo "FAIL: the other server did not start: $(cat "$out")"; exit 1; }

message=$(ACTSERVE_ADDRESS=$address ACTSERVE_BUILD_DIR=$BUILD timeout 60 "$SOURCE/deploy/run-demo.sh" 2>&1)
rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: run-demo.sh exited $rc against a busy address: $message"; exit 1; }
echo "$message" | grep -q "already answers on $address" ||
  { echo "FAIL: run-demo.sh did not say why: $message"; exit 1; }
kill -0 "$other" 2>/dev/null || { echo "FAIL: the other server is gone"; exit 1; }
"$BUILD/client/actctl" --server="$address" health | grep -qx SERVING ||
  { echo "FAIL: the other server no longer serves"; exit 1; }
echo "PASS: run-demo.sh refused $address, which it did not start"
