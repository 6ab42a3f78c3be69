#!/usr/bin/python3
"""Training speed against PyTorch in the same session: train_bench (ours) and
../shared/bench/torch_mlp.py (PyTorch on the system BLAS, OpenBLAS with
deploy/install-deps.sh --bench), 1 thread, 64-128-128-10 batch 64 and 784-256-256-10 batch 128,
ReLU, softmax cross-entropy, SGD lr 0.1. Prints steps/s medians and our ratio over PyTorch's.

  /usr/bin/python3 kernels/bench/train_compare.py [--build build] [--shared ../shared/bench]
      [--rounds 3]

Rounds alternate the two programs so that drifts of a shared machine hit both; the ratio is the
median over rounds of (ours / theirs) in the same round.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TARGETS = {"64-128-128-10": 1.5, "784-256-256-10": 1.0}


def ours(build):
    out = subprocess.run([os.path.join(build, "kernels", "train_bench"), "--samples=7"],
                         check=True, capture_output=True, text=True).stdout
    return {json.loads(l)["arch"]: json.loads(l)["steps_per_s"]["median"]
            for l in out.splitlines() if l.startswith("{")}


def theirs(shared):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "torch.jsonl")
        probe = subprocess.run(["/usr/bin/python3", os.path.join(shared, "torch_mlp.py"),
                                "--threads", "1", "--blas", "current", "--parts", "speed",
                                "--samples", "7", "--out", path], capture_output=True, text=True)
        if probe.returncode != 0:
            # Loud, never a table without its reference column.
            sys.exit("train_compare: the PyTorch side failed (deploy/install-deps.sh --bench "
                     "installs python3-torch and libopenblas0-openmp):\n" + probe.stderr[-2000:])
        rows = [json.loads(l) for l in open(path)]
    return {r["arch"]: r["metrics"]["steps_per_s"]["median"] for r in rows}, rows[0]["blas"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "bench"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = {arch: {"ours": [], "torch": [], "ratio": []} for arch in TARGETS}
    blas = "?"
    for r in range(args.rounds):
        print(f"[train_compare] round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        t, blas = theirs(args.shared)
        o = ours(args.build)
        for arch in TARGETS:
            results[arch]["ours"].append(o[arch])
            results[arch]["torch"].append(t[arch])
            results[arch]["ratio"].append(o[arch] / t[arch])
    print(f"| network (1 thread, SGD) | actserve steps/s | PyTorch ({blas}) steps/s | ratio | "
          "target |")
    print("|---|---:|---:|---:|---:|")
    for arch, target in TARGETS.items():
        res = results[arch]
        ratio = statistics.median(res["ratio"])
        print(f"| {arch} | {statistics.median(res['ours']):.0f} | "
              f"{statistics.median(res['torch']):.0f} | {ratio:.2f}x | >= {target}x "
              f"{'met' if ratio >= target else 'NOT met'} |")


if __name__ == "__main__":
    main()
