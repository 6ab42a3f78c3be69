#!/usr/bin/env bash
# Builds the Dockerfile and checks the image: non-root, the gRPC health check, no compiler in the
# runtime stage, a gRPC call (actctl in a second container) through a published loopback port,
# its metrics through another, and a graceful stop on SIGTERM. Uses a Docker engine where one runs; otherwise rootful podman
# from Debian's packages with a debian:bookworm base made locally (no registry is needed), as
# ../shared/docker/README.md describes. Exit 77 (ctest: skipped) where neither can run.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${ACTSERVE_CONTAINER_DIR:-/var/tmp/actserve-container}
IMAGE=localhost/actserve:test
mkdir -p "$WORK"
LOG=$WORK/log
: >"$LOG"

skip() { echo "SKIPPED: $*"; exit 77; }

if docker info >/dev/null 2>&1; then
  C=(docker)
  BUILD=(docker build -t "$IMAGE" "$ROOT")
else
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    [ "$(id -u)" = 0 ] || skip "no Docker engine, and podman is not installed (needs root to install)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      podman runc debootstrap catatonit netavark aardvark-dns conmon iptables >>"$LOG" 2>&1 \
      || skip "no Docker engine, and podman could not be installed (see $LOG)"
  fi
  # crun refuses this sandbox's hybrid cgroups; podman's default ulimits exceed its limits.
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
    mirror=$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' \
             /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null)
    rootfs=$WORK/basefs
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >>"$LOG" 2>&1 \
      || skip "could not make a debian:bookworm base image (see $LOG)"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/etc/apt/sources.list
    mkdir -p "$rootfs"/var/lib/apt/lists/partial
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      cp /etc/apt/sources.list.d/debian.sources "$rootfs"/etc/apt/sources.list.d/
    else
      grep -E '^deb .*debian' /etc/apt/sources.list >"$rootfs"/etc/apt/sources.list
    fi
    printf 'Acquire::Check-Valid-Until "false";\n' >"$rootfs"/etc/apt/apt.conf.d/99no-check-valid
    tar -C "$rootfs" --numeric-owner -c . | "${C[@]}" import --change 'CMD ["bash"]' - debian:bookworm >>"$LOG" 2>&1
    rm -rf "$rootfs"
  fi
  BUILD=("${C[@]}" build --pull=never --format docker -t "$IMAGE" "$ROOT")
fi

pass=0; fail=0
check() {
  local name=$1; shift
  if "$@" >>"$LOG" 2>&1; then pass=$((pass + 1)); echo "PASS $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
inspect() { "${C[@]}" image inspect "$IMAGE" --format "$1"; }

echo "building $IMAGE with ${C[0]} (log: $LOG)"
"${C[@]}" rmi -f "$IMAGE" >/dev/null 2>&1  # never check a stale image
check "image builds" "${BUILD[@]}"
if [ "$fail" != 0 ]; then
  tail -20 "$LOG"
  echo "$pass passed, $fail failed"
  exit 1
fi
check "runs as a non-root user" test "$(inspect '{{.Config.User}}')" = nonroot
check "entrypoint is actserve (exec form)" test "$(inspect '{{index .Config.Entrypoint 0}}')" = /usr/local/bin/actserve
check "exposes 50051/tcp" sh -c "echo '$(inspect '{{json .Config.ExposedPorts}}')' | grep -q 50051/tcp"
check "healthcheck uses the gRPC health service" sh -c "echo '$(inspect '{{json .Config.Healthcheck}}')' | grep -q health"
check "no compiler in the runtime image" "${C[@]}" run --rm --entrypoint sh "$IMAGE" \
  -c '! command -v g++ && ! command -v cmake && ! command -v protoc'

"${C[@]}" rm -f actserve-test >/dev/null 2>&1
check "server container starts" "${C[@]}" run -d --name actserve-test --read-only --cap-drop=ALL \
  --security-opt no-new-privileges -p 127.0.0.1::50051 -p 127.0.0.1::9464 "$IMAGE"
hostport=$("${C[@]}" port actserve-test 50051/tcp | head -1)
for _ in $(seq 50); do
  "${C[@]}" run --rm --network host --entrypoint /usr/local/bin/actctl "$IMAGE" \
    --server="$hostport" health >/dev/null 2>&1 && break
  sleep 0.2
done
check "gRPC call through $hostport from a second container" sh -c \
  "'${C[0]}' ${C[*]:1} run --rm --network host --entrypoint /usr/local/bin/actctl '$IMAGE' --server='$hostport' forward relu -- -1 2 | grep -qx '2,2'"
metrics=$("${C[@]}" port actserve-test 9464/tcp | head -1)
check "Prometheus metrics on $metrics" sh -c \
  "curl -sf http://$metrics/metrics | grep -q '^grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Forward\"'"
if [ "${C[0]}" = podman ]; then
  check "healthcheck reports healthy" "${C[@]}" healthcheck run actserve-test
fi
start=$(date +%s)
"${C[@]}" stop -t 15 actserve-test >>"$LOG" 2>&1
took=$(($(date +%s) - start))
check "SIGTERM stops it with status 0 (in ${took}s)" \
  test "$("${C[@]}" inspect actserve-test --format '{{.State.ExitCode}}')" = 0 -a "$took" -lt 15
"${C[@]}" logs actserve-test >>"$LOG" 2>&1
"${C[@]}" rm -f actserve-test >/dev/null 2>&1
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
