# actserve image. Build stage: Debian 12 with the toolchain; runtime stage: Debian 12 with only
# the shared libraries the binaries link, running as a non-root user.
#
#   docker build -t actserve .          (or: podman build --format docker -t actserve .)
#   docker run --rm -p 50051:50051 actserve
#   build/client/actctl --server=127.0.0.1:50051 list
#
# ACTSERVE_MARCH=x86-64-v3 (AVX2 and FMA, any x86-64 server since 2013): the image must run on
# more machines than the build host.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake make g++ pkg-config libabsl-dev libeigen3-dev libgrpc++-dev protobuf-compiler-grpc \
      libprotobuf-dev prometheus-cpp-dev libmicrohttpd-dev libsqlite3-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY kernels kernels
COPY proto proto
COPY server server
COPY client client
COPY tests tests
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DACTSERVE_MARCH=x86-64-v3 \
      -DACTSERVE_BUILD_TESTS=OFF -DACTSERVE_BUILD_BENCHMARKS=OFF \
 && cmake --build /build -j"$(nproc)" --target actserve actctl

FROM debian:bookworm AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libre2-9 libc-ares2 libssl3 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcivetweb1 libmicrohttpd12 \
      libsqlite3-0 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin nonroot \
 && mkdir -p /var/lib/actserve && chown nonroot /var/lib/actserve
COPY --from=build /build/server/actserve /build/client/actctl /usr/local/bin/
# Example training jobs: actctl train /usr/share/actserve/examples/xor.textproto
COPY client/examples /usr/share/actserve/examples
# Training jobs, their checkpoints and results (--state_dir, server/README.md "Durable training
# jobs"): mount a volume here so that jobs survive the container. One directory per replica; a
# second server on the same directory is refused at start.
VOLUME /var/lib/actserve
USER nonroot
EXPOSE 50051 9464
# The gRPC health service, through actctl (exit 0 only when SERVING).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/actctl", "--server=127.0.0.1:50051", "--timeout=2", "health"]
# Exec form: actserve is PID 1 and gets SIGTERM itself (it drains, then exits 0).
# --insecure: the image serves plaintext without tokens, for a trusted network or a local demo.
# For anything else append --tls_cert, --tls_key and --tokens_file (and --noinsecure):
# server/auth/README.md.
ENTRYPOINT ["/usr/local/bin/actserve", "--address=0.0.0.0:50051", "--metrics_address=0.0.0.0:9464", "--state_dir=/var/lib/actserve", "--insecure"]
