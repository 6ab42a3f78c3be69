#!/usr/bin/python3
"""A/B of actserve configurations against the echo service, alternating, for quick checks.

  /usr/bin/python3 server/bench/echo_ab.py FLOATS IN_FLIGHT ROUNDS [FLAGS ...]

Each round measures the shared harness's echo service, then actserve with each FLAGS string (""
for the defaults), for 3 s each with the shared load client (grpc_load --outstanding IN_FLIGHT),
and prints medians over the rounds as ratios to the echo service. Uses the tools and request
files that service_bench.py leaves in build/service-bench (run it once first).
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BENCH = os.path.join(ROOT, "build", "service-bench")
TOOLS = os.path.join(BENCH, "shared-build")


def rate(server_cmd, port, load_args, in_flight):
    server = subprocess.Popen(server_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.7)
        out = subprocess.run([os.path.join(TOOLS, "grpc_load"), "--target", f"127.0.0.1:{port}",
                              *load_args, "--outstanding", str(in_flight), "--dur", "3",
                              "--reps", "1"], capture_output=True, text=True, check=True).stdout
        return json.loads(out)["metrics"]["rps"]["median"]
    finally:
        server.kill()
        server.wait()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    floats, in_flight, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    configs = sys.argv[4:] or [""]
    request = os.path.join(BENCH, "requests", f"req_{floats}.bin")
    if not os.path.exists(request) or not os.path.exists(os.path.join(TOOLS, "grpc_load")):
        sys.exit(f"{request} or the shared tools are missing: run server/bench/service_bench.py")
    results = {"echo": []}
    results.update({c: [] for c in configs})
    for _ in range(rounds):
        results["echo"].append(rate([os.path.join(TOOLS, "echo_server"), "--port", "50611",
                                     "--mode", "callback"], 50611, ["--payload-floats", floats],
                                    in_flight))
        for c in configs:
            results[c].append(rate([os.path.join(ROOT, "build", "server", "actserve"),
                                    "--address=127.0.0.1:50612", "--metrics_address=127.0.0.1:0",
                                    *c.split()], 50612,
                                   ["--method", "/actserve.v1.ActivationService/Forward",
                                    "--request-file", request], in_flight))
    echo = statistics.median(results["echo"])
    for name, rates in results.items():
        m = statistics.median(rates)
        print(f"{name or '(defaults)':40s} {m:9.1f} req/s  {m / echo:.2f}x echo  "
              f"rounds {[round(r) for r in rates]}")


if __name__ == "__main__":
    main()
