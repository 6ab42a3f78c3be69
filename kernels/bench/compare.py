#!/usr/bin/python3
"""Runs kernels_bench beside PyTorch and oneDNN (../shared/bench) on the same sizes in one session
and prints our throughput over theirs, and over a plain memory copy of the same bytes.

  deploy/install-deps.sh --bench
  /usr/bin/python3 kernels/bench/compare.py [--build build] [--shared ../shared/bench]
      [--out build/bench-results] [--quick | --reps N] [--report-only]
      [--python /usr/bin/python3] [--onednn-bin PATH]

--python and --onednn-bin are for a machine that cannot build (kernels/bench/bundle.sh): the
interpreter that has PyTorch, and an onednn_act built elsewhere instead of building it here.

Writes OUT/report.md (the tables below) and the raw results beside it. Takes about 10 minutes
(--quick: about 3); each unit waits until the machine is quiet first, as ../shared/bench does.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SIZES = [4096, 262144, 16777216]
THREADS = [1, 2]

# Our catalog name -> the op name in ../shared/bench/torch_act.py and onednn_act.cpp.
TORCH_OP = {
    "relu": "relu", "leaky_relu": "leaky_relu", "prelu": "prelu", "rrelu": "rrelu_eval",
    "elu": "elu", "selu": "selu", "celu": "celu", "gelu": "gelu_erf", "gelu_tanh": "gelu_tanh",
    "silu": "silu", "mish": "mish", "sigmoid": "sigmoid", "tanh": "tanh", "softplus": "softplus",
    "softsign": "softsign", "hard_tanh": "hardtanh", "hard_sigmoid": "hardsigmoid",
    "hardswish": "hardswish", "relu6": "relu6", "log_sigmoid": "logsigmoid",
    "tanhshrink": "tanhshrink", "softmax": "softmax",
    # Not in torch_act.py's table: added by torch_rows.py.
    "log_softmax": "log_softmax", "softmin": "softmin", "glu": "glu",
}
# The issue-17 target of 1.5x PyTorch for the softmax family and glu.
ROWS_TARGET = {"softmax": 1.5, "log_softmax": 1.5, "softmin": 1.5, "glu": 1.5}
ONEDNN_OP = {
    "relu": "relu", "tanh": "tanh", "elu": "elu", "sigmoid": "logistic", "gelu": "gelu_erf",
    "gelu_tanh": "gelu_tanh", "swish": "swish", "silu": "swish", "softplus": "soft_relu",
    "hardswish": "hardswish", "mish": "mish", "log_sigmoid": "logsigmoid", "relu6": "clip_v2",
}
TUNED_MALLOC = "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824"


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    """A comparison that cannot run ends the run: a table with a column silently missing would
    read as a result."""
    log(f"error: {msg}")
    sys.exit(2)


def require_torch(python):
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        fail(f"PyTorch cannot be imported by {python}: run deploy/install-deps.sh --bench "
             "(python3-torch), or leave PyTorch out with --skip torch")


def run(cmd, env=None, stdout=None):
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, env=env, stdout=stdout)


def quiet(shared):
    sys.path.insert(0, shared)
    import benchlib  # noqa: E402  (../shared/bench's noise probe)
    benchlib.wait_for_quiet(max_wait_s=120)


def run_ours(args, out):
    path = os.path.join(out, "ours.json")
    reps, min_time = (str(args.reps or 1), "0.02") if args.quick else (str(args.reps or 5), "0.05")
    if not args.report_only:
        quiet(args.shared)
        run([os.path.join(args.build, "kernels", "kernels_bench"), "--benchmark_format=json",
             f"--benchmark_out={path}", "--benchmark_out_format=json",
             "--benchmark_filter=^(copy|[a-z0-9_]+/(fwd|bwd|bwd_y))/",
             f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true",
             f"--benchmark_min_time={min_time}"], stdout=subprocess.DEVNULL)
    ours, copy, cost = {}, {}, {}
    with open(path) as f:
        for b in json.load(f)["benchmarks"]:
            if b.get("aggregate_name", "median") != "median" or "items_per_second" not in b:
                continue
            parts = b["run_name"].split("/")
            if parts[0] == "crossover":
                continue
            if parts[0] == "copy":
                copy[("bwd" if parts[2] == "1" else "fwd", int(parts[1]))] = b["items_per_second"]
            else:
                name, direction, n, t = parts[0], parts[1], int(parts[2]), int(parts[3])
                ours[(name, direction, n, t)] = b["items_per_second"]
                cost[name] = b.get("label", "")
    return ours, copy, cost


def run_torch(args, out):
    # torch_act.py's harness, with the last-axis functions it lacks added (torch_rows.py).
    script = os.path.join(HERE, "torch_rows.py")
    samples = ["--samples", "3"] if args.quick else []
    if args.reps:
        samples = ["--samples", str(max(3, args.reps))]
    ops = ",".join(sorted(set(TORCH_OP.values())))
    small = os.path.join(out, "torch_small.jsonl")
    large = os.path.join(out, "torch_16mi.jsonl")
    if args.report_only:
        return load_jsonl([small, large])
    require_torch(args.python)
    quiet(args.shared)
    run([args.python, script, "--shared", args.shared, "--sizes", "4096,262144", "--threads",
         "1,2", "--ops", ops, "--out", small] + samples, stdout=subprocess.DEVNULL)
    quiet(args.shared)
    env = dict(os.environ, GLIBC_TUNABLES=TUNED_MALLOC)  # as the anchors: no page-fault costs
    run([args.python, script, "--shared", args.shared, "--sizes", "16777216", "--threads", "1,2",
         "--ops", ops, "--out", large] + samples, env=env, stdout=subprocess.DEVNULL)
    return load_jsonl([small, large])


def run_onednn(args, out):
    build = os.path.join(out, "shared-build")
    if args.report_only:
        return load_jsonl([os.path.join(out, f"onednn_t{t}.jsonl") for t in THREADS])
    binary = args.onednn_bin or os.path.join(build, "onednn_act")
    if not args.onednn_bin:
        try:
            run(["cmake", "-S", args.shared, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
                stdout=subprocess.DEVNULL)
            run(["cmake", "--build", build, "--target", "onednn_act", "-j2"],
                stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError:
            fail("the oneDNN benchmark (onednn_act) could not be built: run "
                 "deploy/install-deps.sh --bench (libdnnl-dev, ocl-icd-opencl-dev), or leave "
                 "oneDNN out with --skip onednn")
    files = []
    for t in THREADS:
        path = os.path.join(out, f"onednn_t{t}.jsonl")
        quiet(args.shared)
        with open(path, "w") as f:
            run([binary, "--sizes", ",".join(map(str, SIZES))],
                env=dict(os.environ, OMP_NUM_THREADS=str(t)), stdout=f)
        files.append(path)
    return load_jsonl(files)


def load_jsonl(paths):
    res = {}
    for p in paths:
        with open(p) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if "eps" in r.get("metrics", {}):
                    res[(r["op"], r["dir"], int(r["n"]), int(r["threads"]))] = \
                        r["metrics"]["eps"]["median"]
    return res


def size_name(n):
    return f"{n >> 20} Mi" if n >= 1 << 20 else f"{n >> 10} Ki"


def fmt(v, digits=3):
    return "" if v is None else f"{v:.{digits}g}"


def machine():
    """This machine's CPU model and CPU count: what the figures were measured on."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d', time.gmtime())}"


def report(ours, copy, cost, torch, onednn, measured_on):
    lines = []
    names = sorted({k[0] for k in ours}, key=lambda s: list(k[0] for k in ours).index(s))

    def ratio(a, b):
        return a / b if a and b else None

    def theirs(table, mapping, name, d, n, t):
        op = mapping.get(name)
        return table.get((op, "bwd" if d == "bwd_y" else d, n, t)) if op else None

    def ours_vs_torch(name, d, n, t):
        """Ours in the form PyTorch's is measured: its backward is given the forward's output,
        so where we have that (bwd_y) it stands for our backward."""
        if d == "bwd" and (name, "bwd_y", n, t) in ours:
            d = "bwd_y"
        return ratio(ours.get((name, d, n, t)), theirs(torch, TORCH_OP, name, d, n, t))

    # Summary of the targets.
    lines.append("### Targets\n")
    lines.append(f"- Measured on: {measured_on}")
    bw = []
    for name in names:
        if cost.get(name) != "select":
            continue
        for d in ("fwd", "bwd"):
            for t in THREADS:
                r = ratio(ours.get((name, d, SIZES[-1], t)), copy.get((d, SIZES[-1])))
                if r is not None:
                    bw.append((r, f"{name} {d} {t}t"))
    if bw:
        bw.sort()
        below = [f"{n} ({r:.2f})" for r, n in bw if r < 0.9]
        lines.append(f"- Memory-bound element-wise functions (cost class `select`) at 16 Mi over "
                     f"the copy of the same bytes: median {bw[len(bw) // 2][0]:.2f}, min {bw[0][0]:.2f} "
                     f"({bw[0][1]}); target >= 0.9: {len(bw) - len(below)}/{len(bw)} met"
                     + (f"; below: {', '.join(below)}" if below else "") + ".")
    for n in SIZES[1:]:
        rs = []
        for name in names:
            for d in ("fwd", "bwd"):
                r = ours_vs_torch(name, d, n, 1)
                if r:
                    rs.append((r, f"{name} {d}"))
        if rs:
            gm = math.exp(sum(math.log(r) for r, _ in rs) / len(rs))
            below = ", ".join(f"{s} {r:.2f}" for r, s in sorted(rs) if r < 1.0)
            lines.append(f"- PyTorch, 1 thread, {size_name(n)}: geometric mean of ours/torch over "
                         f"{len(rs)} function-directions = {gm:.2f} (target >= 2); at least "
                         f"PyTorch's speed: {sum(r >= 1.0 for r, _ in rs)}/{len(rs)}"
                         + (f"; below: {below}" if below else "") + ". Where we have a backward "
                         "given y (bwd_y: softmax, sigmoid, tanh) it is the one compared, as "
                         "PyTorch's is given y.")
        rows = [(ours_vs_torch(name, d, n, 1), f"{name} {d}") for name in ROWS_TARGET
                for d in ("fwd", "bwd")]
        rows = [(r, s) for r, s in rows if r]
        if rows:
            below = ", ".join(f"{s} {r:.2f}" for r, s in sorted(rows) if r < 1.5)
            lines.append(f"- Softmax family and glu over PyTorch, 1 thread, {size_name(n)}: "
                         f"{sum(r >= 1.5 for r, _ in rows)}/{len(rows)} at >= 1.5x"
                         + (f"; below: {below}" if below else "") + ".")
        od = []
        for name in names:
            for d in ("fwd", "bwd"):
                r = ratio(ours.get((name, d, n, 1)), theirs(onednn, ONEDNN_OP, name, d, n, 1))
                if r:
                    od.append((r, f"{name} {d}"))
        if od:
            met = sum(r >= 1.0 for r, _ in od)
            worst = ", ".join(f"{s} {r:.2f}" for r, s in sorted(od)[:5])
            lines.append(f"- oneDNN, 1 thread, {size_name(n)}: ours >= oneDNN for {met}/{len(od)} "
                         f"function-directions (target: all); lowest: {worst}.")
    lines.append("")
    # Full tables.
    for n in SIZES:
        lines.append(f"### {size_name(n)} elements (Gelem/s; ratios are ours over theirs)\n")
        head = "| function | dir | cost |"
        for t in THREADS:
            head += f" {t}t Gelem/s | {t}t /copy | {t}t /torch | {t}t /oneDNN |"
        lines.append(head)
        lines.append("|" + "---|" * (3 + 4 * len(THREADS)))
        lines.append(f"| copy (same bytes) | fwd/bwd | | " + " | ".join(
            f"{fmt(copy.get(('fwd', n)) / 1e9)} / {fmt(copy.get(('bwd', n)) / 1e9)} | | |"
            for _ in THREADS) + " |")
        for name in names:
            for d in ("fwd", "bwd", "bwd_y"):
                if not any((name, d, n, t) in ours for t in THREADS):
                    continue
                row = f"| {name} | {d} | {cost.get(name, '')} |"
                for t in THREADS:
                    v = ours.get((name, d, n, t))
                    bytes_as = "bwd" if d == "bwd_y" else d
                    row += (f" {fmt(v / 1e9 if v else None)} | {fmt(ratio(v, copy.get((bytes_as, n))), 2)} |"
                            f" {fmt(ratio(v, theirs(torch, TORCH_OP, name, d, n, t)), 2)} |"
                            f" {fmt(ratio(v, theirs(onednn, ONEDNN_OP, name, d, n, t)), 2)} |")
                lines.append(row)
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-results"))
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke test")
    ap.add_argument("--reps", type=int, default=0,
                    help="repetitions of each of our benchmarks (and PyTorch samples, at least 3)")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter with PyTorch")
    ap.add_argument("--onednn-bin", default="", help="a prebuilt onednn_act (not built here)")
    ap.add_argument("--skip", default="", help="comma list of: torch,onednn")
    ap.add_argument("--report-only", action="store_true",
                    help="rebuild the report from the results already in --out")
    args = ap.parse_args()
    args.shared = os.path.abspath(args.shared)
    os.makedirs(args.out, exist_ok=True)
    ours, copy, cost = run_ours(args, args.out)
    torch = {} if "torch" in args.skip else run_torch(args, args.out)
    onednn = {} if "onednn" in args.skip else run_onednn(args, args.out)
    machine_file = os.path.join(args.out, "machine.txt")
    if not args.report_only:
        with open(machine_file, "w") as f:
            f.write(machine() + "\n")
    measured_on = "not recorded"
    if os.path.exists(machine_file):
        with open(machine_file) as f:
            measured_on = f.read().strip()
    text = report(ours, copy, cost, torch, onednn, measured_on)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
