# actserve image. Build stage: Debian 12 with the toolchain; runtime stage: Debian 12 with only
# the shared libraries the binaries link, running as a non-root user.
#
#   docker build -t actserve .        (or: podman build --format docker -t actserve .)
#   docker run --rm actserve          prints the accuracy table of every activation
#
# ACTSERVE_MARCH=x86-64-v3 (AVX2 and FMA, any x86-64 server since 2013): the image must run on
# more machines than the build host.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake make g++ pkg-config libabsl-dev libeigen3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY kernels kernels
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DACTSERVE_MARCH=x86-64-v3 \
      -DACTSERVE_BUILD_TESTS=OFF -DACTSERVE_BUILD_BENCHMARKS=OFF \
 && cmake --build /build -j"$(nproc)" --target accuracy_table catalog_markdown

FROM debian:bookworm AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libabsl20220623 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin nonroot
COPY --from=build /build/kernels/accuracy_table /build/kernels/catalog_markdown /usr/local/bin/
USER nonroot
ENTRYPOINT ["/usr/local/bin/accuracy_table"]
