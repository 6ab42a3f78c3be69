#!/usr/bin/python3
"""A real Prometheus server (Debian's prometheus package) scrapes the real actserve with the
scrape configuration in deploy/prometheus/, and its HTTP API must show the expected series and
values after some calls. Exit 77 (ctest: skipped) where prometheus is not installed.

  python3 tests/prometheus_test.py --server build/server/actserve --actctl build/client/actctl
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(prom, expr):
    url = f"http://{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.load(r)
    return [float(v["value"][1]) for v in data["data"]["result"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--actctl", required=True)
    args = ap.parse_args()
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        print("SKIPPED: prometheus is not installed (Debian package prometheus)")
        sys.exit(77)
    work = tempfile.mkdtemp()
    server = subprocess.Popen([args.server, "--address=127.0.0.1:0",
                               "--metrics_address=127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    prom = None
    checks = {}
    try:
        out = server.stdout.readline() + server.stdout.readline()
        address = re.search(r"listening on (\S+)", out).group(1)
        metrics = re.search(r"metrics on http://([^/]+)/metrics", out).group(1)
        # The shipped configuration, pointed at this server and scraping every second.
        with open(os.path.join(ROOT, "deploy", "prometheus", "prometheus.yml")) as f:
            config = f.read().replace("127.0.0.1:9464", metrics).replace("5s", "1s")
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(config)
        prom_address = f"127.0.0.1:{free_port()}"
        prom = subprocess.Popen([prometheus, f"--config.file={work}/prometheus.yml",
                                 f"--storage.tsdb.path={work}/data",
                                 f"--web.listen-address={prom_address}", "--log.level=warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(5):
            subprocess.run([args.actctl, f"--server={address}", "forward", "gelu", "1", "2", "3"],
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.actctl, f"--server={address}", "forward", "relux", "1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wanted = {
            'up{job="actserve"}': lambda v: v == [1.0],
            'grpc_server_handled_total{grpc_method="Forward",grpc_code="OK"}': lambda v: v == [5.0],
            'grpc_server_handled_total{grpc_method="Forward",grpc_code="InvalidArgument"}':
                lambda v: v == [1.0],
            'actserve_elements_total{activation="gelu",direction="forward"}':
                lambda v: sum(v) == 15.0,
            'grpc_server_handling_seconds_count{grpc_method="Forward"}': lambda v: v == [6.0],
            "process_resident_memory_bytes": lambda v: len(v) == 1 and v[0] > 1e6,
            "actserve_build_info": lambda v: v == [1.0],
        }
        deadline = time.time() + 90
        while time.time() < deadline and len(checks) < len(wanted):
            for expr, ok in wanted.items():
                if expr in checks:
                    continue
                try:
                    if ok(query(prom_address, expr)):
                        checks[expr] = True
                except OSError:
                    pass  # Prometheus still starting
            time.sleep(0.5)
    finally:
        if prom is not None:
            prom.terminate()
            prom.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    for expr in wanted:
        print(("PASS " if expr in checks else "FAIL ") + expr)
    print(f"{len(checks)} passed, {len(wanted) - len(checks)} failed")
    sys.exit(0 if len(checks) == len(wanted) else 1)


if __name__ == "__main__":
    main()
