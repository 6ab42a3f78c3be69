#!/usr/bin/env python3
"""Is actload the bottleneck? Compares its closed-loop req/s with grpc_load's on the same echo
server (../shared/bench/grpc: echo_server and grpc_load, built with that folder's CMakeLists),
same loopback target, same shape (channels x calls in flight x completion threads), at 1 Ki and
64 Ki floats. Runs alternate (grpc_load, actload) `--reps` times; prints the medians, their
ratio (actload / grpc_load) and the CPU model.

  echo_compare.py --bench_build=DIR_WITH_echo_server_AND_grpc_load --actload=build/.../actload
"""
import argparse
import json
import statistics
import subprocess


def cpu_model():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench_build", required=True)
    ap.add_argument("--actload", required=True)
    ap.add_argument("--payloads", default="1024,65536")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dur", type=float, default=3)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--outstanding", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    server = subprocess.Popen([f"{a.bench_build}/echo_server", "--port", "0", "--max-seconds",
                               "900"], stdout=subprocess.PIPE, text=True)
    try:
        port = None
        while port is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("echo_server exited")
            if line.startswith("LISTENING"):
                port = int(line.split()[1])
        target = f"127.0.0.1:{port}"
        print(f"CPU: {cpu_model()}; echo server {target}; {a.channels} channel(s) x "
              f"{a.outstanding} in flight x {a.threads} thread(s), {a.dur:g} s per run, "
              f"{a.reps} runs each")
        for floats in [int(p) for p in a.payloads.split(",")]:
            ref, ours, ref_cpu, our_cpu = [], [], [], []
            for _ in range(a.reps):
                out = subprocess.run(
                    [f"{a.bench_build}/grpc_load", "--target", target, "--payload-floats",
                     str(floats), "--channels", str(a.channels), "--outstanding",
                     str(a.outstanding), "--threads", str(a.threads), "--warmup", "1", "--dur",
                     str(a.dur), "--reps", "1"], capture_output=True, text=True, check=True)
                rec = json.loads(out.stdout.strip().splitlines()[-1])
                ref.append(rec["metrics"]["rps"]["median"])
                ref_cpu.append(rec["client_cpu_cores"])
                out = subprocess.run(
                    [a.actload, f"--server={target}", "--workload=echo", f"--elements={floats}",
                     f"--channels={a.channels}", f"--concurrency={a.outstanding}",
                     f"--threads={a.threads}", "--warmup=1s", f"--duration={a.dur}s",
                     "--progress=none", "--json=-"], capture_output=True, text=True, check=True)
                rep = json.loads(out.stdout)
                ours.append(rep["achieved_rps"])
                our_cpu.append(rep["client_cpu_cores"])
            r, o = statistics.median(ref), statistics.median(ours)
            print(f"{floats:>6} floats: grpc_load {r:9.0f} req/s {sorted(round(x) for x in ref)}"
                  f"  actload {o:9.0f} req/s {sorted(round(x) for x in ours)}"
                  f"  ratio {o / r:.3f}  (client CPU cores: grpc_load "
                  f"{statistics.median(ref_cpu):.2f}, actload {statistics.median(our_cpu):.2f})")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
