#!/bin/sh
# Starts actserve from build/ (or $ACTSERVE_BUILD_DIR) on 127.0.0.1:50051 (or $ACTSERVE_ADDRESS),
# shows what it does through actctl (the catalog, a few values, an SVG plot of activations and
# their derivatives computed by the server, and a training job with its per-layer diagnostics and
# curves), then keeps serving in the foreground until Ctrl-C (which drains it gracefully).
# It demonstrates only the server it started: if the address already answers, or its server
# cannot start there, it says so and exits 1.
set -eu
cd "$(dirname "$0")/.."
ADDRESS=${ACTSERVE_ADDRESS:-127.0.0.1:50051}
BUILD=${ACTSERVE_BUILD_DIR:-build}
ctl="$BUILD/client/actctl --server=$ADDRESS"
# Any answer from the health service, SERVING or not, means someone else's server is there.
if answer=$($ctl --timeout=1 health 2>/dev/null) || [ -n "$answer" ]; then
  echo "run-demo: a server already answers on $ADDRESS ($answer); stop it or set" \
       "ACTSERVE_ADDRESS to a free host:port" >&2
  exit 1
fi
"$BUILD/server/actserve" --address="$ADDRESS" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
for _ in $(seq 100); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "run-demo: actserve could not start on $ADDRESS (see its message above)" >&2
    exit 1
  fi
  $ctl --timeout=1 health >/dev/null 2>&1 && break
  sleep 0.1
done
# The server that answered must be ours (it is still running).
if ! kill -0 "$server" 2>/dev/null || ! $ctl --timeout=1 health >/dev/null 2>&1; then
  echo "run-demo: actserve did not come up on $ADDRESS" >&2
  kill -TERM "$server" 2>/dev/null || true
  exit 1
fi

echo "== actctl list: the catalog ($(($($ctl list | wc -l) - 2)) functions)"
$ctl list | head -12
echo "   ..."
echo "== actctl forward gelu --range=-3:3:7"
$ctl forward gelu --range=-3:3:7
echo "== actctl backward prelu -2 -1 1 2 --param=a=0.25 (dx, and the gradient of a on stderr)"
$ctl backward prelu -2 -1 1 2 --param=a=0.25
echo "== actctl plot sigmoid,tanh,relu,gelu,swish"
$ctl plot sigmoid,tanh,relu,gelu,swish --range=-5:5:401 --out="$BUILD/activations.svg"
echo "== actctl train client/examples/two_spirals.textproto --curves=$BUILD/training.svg"
$ctl train client/examples/two_spirals.textproto --curves="$BUILD/training.svg"
echo "== serving on $ADDRESS (Ctrl-C to stop); try: $ctl list, $ctl forward --help"
wait $server
