#!/usr/bin/python3
"""A/B of kernels_bench builds on a noisy machine: the binaries take turns, round after round, so
that a slow spell of the machine falls on all of them alike. Prints, per benchmark, the median
over the rounds of each round's median (Gelem/s) and the last binary's ratio over the first.

  cp build/kernels/kernels_bench /tmp/ab-old      # before the change
  ... rebuild ...
  /usr/bin/python3 kernels/bench/ab.py --filter 'relu/bwd/16777216' /tmp/ab-old \\
      build/kernels/kernels_bench [--rounds 5] [--repetitions 3]
"""
import argparse
import collections
import csv
import io
import statistics
import subprocess


def round_medians(binary, pattern, repetitions):
    """benchmark name -> items/s median of one run of `binary`."""
    out = subprocess.run(
        [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={repetitions}",
         "--benchmark_report_aggregates_only=true", "--benchmark_format=csv"],
        check=True, capture_output=True, text=True).stdout
    rows = csv.DictReader(io.StringIO(out[out.index("name,"):]))
    return {r["name"].removesuffix("_median").removesuffix("/real_time"):
            float(r["items_per_second"]) for r in rows if r["name"].endswith("_median")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+", help="kernels_bench builds, the baseline first")
    ap.add_argument("--filter", required=True, help="--benchmark_filter regex")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repetitions", type=int, default=3)
    args = ap.parse_args()
    seen = collections.defaultdict(list)  # (name, binary index) -> per-round medians
    for _ in range(args.rounds):
        for k, binary in enumerate(args.binaries):
            for name, ips in round_medians(binary, args.filter, args.repetitions).items():
                seen[(name, k)].append(ips)
    names = sorted({name for name, _ in seen})
    width = max(len(n) for n in names)
    for name in names:
        medians = [statistics.median(seen[(name, k)]) / 1e9 for k in range(len(args.binaries))]
        ratio = f"  ratio {medians[-1] / medians[0]:.2f}" if len(medians) > 1 else ""
        print(f"{name:{width}s}  " + "  ".join(f"{m:7.2f}" for m in medians) + ratio)


if __name__ == "__main__":
    main()
