# shellcheck shell=sh
# Shell functions for the scripts that bundle binaries built here to run on a machine without
# the build's dependencies (kernels/gpu/bundle.sh, kernels/bench/bundle.sh). Source it.

# bundle_libs DIR BINARY...: copies every shared library the binaries load into DIR/lib, except
# glibc's (they must match the machine's loader; libmvec is glibc's) and the NVIDIA driver's
# (libcuda comes with the machine's GPU).
bundle_libs() {
  dir=$1
  shift
  mkdir -p "$dir/lib"
  for b in "$@"; do
    ldd "$b" | awk '/=> \// { print $3 }'
  done | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so.* | libm.so.* | libmvec.so.* | libdl.so.* | libpthread.so.* | librt.so.* | \
        ld-linux*.so.* | libcuda.so.* | libnvidia-*) ;;
      *) cp -L "$lib" "$dir/lib/" ;;
    esac
  done
}

# bundle_check_size DIR: fails above the device tool's 64 MiB, else prints the bundle's size.
bundle_check_size() {
  bytes=$(du -sb "$1" | cut -f1)
  if [ "$bytes" -gt $((64 * 1024 * 1024)) ]; then
    echo "the bundle $1 is $bytes bytes, over the device tool's limit of 64 MiB" >&2
    return 1
  fi
  echo "bundle: $1 ($((bytes / 1024)) KiB, $(find "$1/lib" -type f | wc -l) libraries)"
}
