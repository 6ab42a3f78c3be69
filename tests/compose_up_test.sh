#!/usr/bin/env bash
# Opt-in (ACTSERVE_COMPOSE_UP=1; heavy: it builds a local image with apt and starts five
# containers): brings up the compose stack's actserve replicas, nginx proxy and Prometheus for
# real with docker-compose, against a Docker engine or, where there is none, rootful podman's
# Docker-compatible socket (configured as tests/container_test.sh does). Registries cannot be
# reached here, so deploy/compose/docker-compose.local.yml swaps the images for one local
# Debian image with host-built binaries. Checks: every replica becomes healthy, a gRPC call
# through the proxy succeeds and the calls spread over the replicas, and Prometheus scrapes
# every replica. Exit 77 (ctest: skipped) when not opted in or where no engine can run.
#   ACTSERVE_COMPOSE_UP=1 tests/compose_up_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
[ "${ACTSERVE_COMPOSE_UP:-0}" = 1 ] || skip "opt-in: set ACTSERVE_COMPOSE_UP=1 (builds a local image and starts 5 containers, several minutes)"
command -v docker-compose >/dev/null || skip "docker-compose is not installed (Debian package docker-compose)"
WORK=${ACTSERVE_COMPOSE_DIR:-/var/tmp/actserve-compose}
mkdir -p "$WORK"
LOG=$WORK/log
: >"$LOG"
PROJECT=actserve-compose-test
COMPOSE=(docker-compose -p "$PROJECT" -f "$ROOT/deploy/compose/docker-compose.yml"
         -f "$ROOT/deploy/compose/docker-compose.local.yml")
SOCKET_PID=""
cleanup() {
  "${COMPOSE[@]}" down -v -t 5 >>"$LOG" 2>&1
  [ -n "$SOCKET_PID" ] && kill "$SOCKET_PID" 2>/dev/null
}

if docker info >/dev/null 2>&1; then
  C=(docker)
else
  command -v podman >/dev/null && command -v runc >/dev/null \
    || skip "no Docker engine, and podman/runc are not installed (tests/container_test.sh installs them)"
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu); pidmax=$(cat /proc/sys/kernel/pid_max)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] && nproc=$pidmax
  ((nproc > pidmax)) && nproc=$pidmax
  cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF=$WORK/containers.conf
  C=(podman --root "$WORK/storage" --runroot "$WORK/run")
  "${C[@]}" info >>"$LOG" 2>&1 || skip "podman cannot run here (see $LOG)"
  if ! "${C[@]}" image exists debian:bookworm; then
    # The base tests/container_test.sh made, if it is there; it documents how to make one.
    shared=(podman --root /var/tmp/actserve-container/storage --runroot /var/tmp/actserve-container/run)
    "${shared[@]}" save debian:bookworm 2>>"$LOG" | "${C[@]}" load >>"$LOG" 2>&1 \
      || skip "no debian:bookworm base image (run tests/container_test.sh once to make it)"
  fi
  "${C[@]}" system service --time=0 "unix://$WORK/podman.sock" >>"$LOG" 2>&1 &
  SOCKET_PID=$!
  export DOCKER_HOST=unix://$WORK/podman.sock
  for _ in $(seq 50); do [ -S "$WORK/podman.sock" ] && break; sleep 0.2; done
fi
trap cleanup EXIT

pass=0; fail=0
check() {
  local name=$1; shift
  if "$@" >>"$LOG" 2>&1; then pass=$((pass + 1)); echo "PASS $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export ACTSERVE_BUILD_DIR=$BUILD ACTSERVE_GRPC_PORT=$(free_port) ACTSERVE_PROMETHEUS_PORT=$(free_port)
echo "log: $LOG"
if [ "${C[0]}" = podman ]; then BUILD_FLAGS=(--pull=never --format docker); else BUILD_FLAGS=(); fi
check "the local image builds" "${C[@]}" build "${BUILD_FLAGS[@]}" \
  -t localhost/actserve-compose-local:latest "$ROOT/deploy/compose/local"
[ "$fail" = 0 ] || { tail -20 "$LOG"; exit 1; }
"${COMPOSE[@]}" down -v -t 1 >>"$LOG" 2>&1
# podman runs no health checks on a timer here: run them while compose waits for them.
( for _ in $(seq 120); do
    for n in 1 2 3; do "${C[@]}" healthcheck run "${PROJECT}_actserve-${n}_1" >/dev/null 2>&1; done
    sleep 1
  done ) &
HEALTH_PID=$!
check "docker-compose up: 3 replicas (healthy), proxy, Prometheus" timeout 300 "${COMPOSE[@]}" up -d --no-build \
  actserve-1 actserve-2 actserve-3 proxy prometheus
kill "$HEALTH_PID" 2>/dev/null
for _ in $(seq 50); do "$BUILD/client/actctl" --server=127.0.0.1:$ACTSERVE_GRPC_PORT health >/dev/null 2>&1 && break; sleep 0.2; done
check "a gRPC call through the proxy" sh -c \
  "'$BUILD/client/actctl' --server=127.0.0.1:$ACTSERVE_GRPC_PORT forward relu -- -1 2 | grep -qx '2,2'"
for _ in $(seq 30); do "$BUILD/client/actctl" --server=127.0.0.1:$ACTSERVE_GRPC_PORT forward relu 1 >/dev/null 2>&1; done
prom=http://127.0.0.1:$ACTSERVE_PROMETHEUS_PORT
up_all() {
  curl -sf "$prom/api/v1/query?query=up%7Bjob%3D%22actserve%22%7D" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r)
sys.exit(0 if len(r) == 3 and all(v["value"][1] == "1" for v in r) else 1)'
}
spread() {
  curl -sf "$prom/api/v1/query?query=sum+by+(instance)(grpc_server_handled_total%7Bgrpc_method%3D%22Forward%22%7D)" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r)
sys.exit(0 if len(r) == 3 and all(float(v["value"][1]) >= 5 for v in r) else 1)'
}
for _ in $(seq 60); do up_all >/dev/null 2>&1 && spread >/dev/null 2>&1 && break; sleep 1; done
check "Prometheus scrapes every replica (up == 1)" up_all
check "the proxy spread the calls over the 3 replicas (from Prometheus)" spread
"${COMPOSE[@]}" logs --no-color >>"$LOG" 2>&1
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
