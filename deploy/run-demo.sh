#!/bin/sh
# Starts actserve from build/ on 127.0.0.1:50051, shows what it does through actctl (the catalog,
# a few values, an SVG plot of activations and their derivatives computed by the server, and a
# training job with its per-layer diagnostics and curves), then keeps serving in the foreground
# until Ctrl-C (which drains it gracefully).
set -eu
cd "$(dirname "$0")/.."
ADDRESS=${ACTSERVE_ADDRESS:-127.0.0.1:50051}
build/server/actserve --address="$ADDRESS" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
ctl="build/client/actctl --server=$ADDRESS"
for _ in $(seq 50); do $ctl health >/dev/null 2>&1 && break; sleep 0.1; done

echo "== actctl list: the catalog ($(($($ctl list | wc -l) - 2)) functions)"
$ctl list | head -12
echo "   ..."
echo "== actctl forward gelu --range=-3:3:7"
$ctl forward gelu --range=-3:3:7
echo "== actctl backward prelu -2 -1 1 2 --param=a=0.25 (dx, and the gradient of a on stderr)"
$ctl backward prelu -2 -1 1 2 --param=a=0.25
echo "== actctl plot sigmoid,tanh,relu,gelu,swish"
$ctl plot sigmoid,tanh,relu,gelu,swish --range=-5:5:401 --out=build/activations.svg
echo "== actctl train client/examples/two_spirals.textproto --curves=build/training.svg"
$ctl train client/examples/two_spirals.textproto --curves=build/training.svg
echo "== serving on $ADDRESS (Ctrl-C to stop); try: $ctl list"
wait $server
