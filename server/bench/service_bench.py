#!/usr/bin/python3
"""The service's throughput and memory against a plain gRPC echo service, in one run.

  deploy/install-deps.sh --bench
  /usr/bin/python3 server/bench/service_bench.py [--build build] [--shared ../shared/bench]
      [--out build/service-bench] [--quick]

1. Unary: ../shared/bench/grpc_bench.py measures its echo service (the ceiling) and actserve's
   Forward (relu, float32) with the same load client and loads, at 1 Ki, 64 Ki and 1 Mi floats.
2. Streaming vs unary: actctl load at 1 Ki floats, 16 in flight, both modes.
3. Memory: actserve's resident set idle, and its peak under 16 concurrent 1 Mi-float requests.
4. The cost of metrics: 1 Ki unary req/s with metrics on over metrics off (two servers,
   measured alternately, medians of three rounds each).
5. The cost of TLS: req/s and MB/s at 1 Ki and 1 Mi floats over TLS (a P-256 certificate made by
   openssl for the run) over plaintext, two servers measured alternately, medians of 3 rounds.
Writes OUT/report.md and the raw results beside it.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PAYLOADS = [1024, 65536, 1048576]


def log(msg):
    print(f"[service_bench] {msg}", file=sys.stderr, flush=True)


def write_requests(out):
    """Serialized actserve.v1.ForwardRequest messages, req_<floats>.bin, for the shared harness."""
    stubs = tempfile.mkdtemp()
    subprocess.run(["protoc", f"--proto_path={ROOT}", f"--python_out={stubs}",
                    "proto/actserve/v1/activation_service.proto"], check=True, cwd=ROOT)
    sys.path.insert(0, stubs)
    from proto.actserve.v1 import activation_service_pb2 as pb
    for n in PAYLOADS:
        req = pb.ForwardRequest(activation="relu",
                                x=pb.Tensor(shape=[n], dtype=pb.DTYPE_FLOAT32, float_data=[0.5] * n))
        with open(os.path.join(out, f"req_{n}.bin"), "wb") as f:
            f.write(req.SerializeToString())


def start_server(build, metrics=True, extra=()):
    metrics_flag = "--metrics_address=127.0.0.1:0" if metrics else "--metrics_address="
    p = subprocess.Popen([os.path.join(build, "server", "actserve"), "--address=127.0.0.1:0",
                          metrics_flag, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m = re.search(r"listening on (\S+)", p.stdout.readline())
    if not m:
        raise RuntimeError("actserve did not start: " + p.stderr.read())
    return p, m.group(1)


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def actctl_load(build, address, mode, payload, in_flight, duration, flags=()):
    out = subprocess.run([os.path.join(build, "client", "actctl"), f"--server={address}", *flags,
                          "load",
                          f"--mode={mode}", f"--payload={payload}", f"--in_flight={in_flight}",
                          f"--duration={duration}"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def metrics_cost(args, benchlib):
    """1 Ki unary req/s with metrics on over off, alternating servers, medians of 3 rounds."""
    on, on_addr = start_server(args.build, metrics=True)
    off, off_addr = start_server(args.build, metrics=False)
    rps = {"on": [], "off": []}
    try:
        benchlib.wait_for_quiet(max_wait_s=120)
        for _ in range(3):
            for name, addr in (("on", on_addr), ("off", off_addr)):
                rps[name].append(actctl_load(args.build, addr, "unary", 1024, 16, 3)["rps"])
    finally:
        for p in (on, off):
            p.terminate()
            p.wait(timeout=30)
    med = {k: sorted(v)[1] for k, v in rps.items()}
    return (f"Metrics cost at 1 Ki floats, 16 in flight (actctl load, 3 rounds of 3 s each, "
            f"alternating): metrics on {med['on']:.0f} req/s, off {med['off']:.0f} req/s: "
            f"{med['on'] / med['off']:.3f}x (target >= 0.97). Rounds on {rps['on']}, off "
            f"{rps['off']}.")


def tls_cost(args, benchlib):
    """Req/s and MB/s over TLS over plaintext at 1 Ki and 1 Mi floats, 1 and 16 in flight."""
    d = tempfile.mkdtemp(prefix="actserve-tls-bench-")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-days", "1", "-keyout", "key.pem", "-out",
                    "cert.pem", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], cwd=d, check=True, capture_output=True)
    plain, plain_addr = start_server(args.build)
    tls, tls_addr = start_server(args.build, extra=[f"--tls_cert={d}/cert.pem",
                                                    f"--tls_key={d}/key.pem"])
    dur = 2 if args.quick else 5
    rows = []
    try:
        for payload in (1024, 1 << 20):
            for in_flight in (1, 16):
                benchlib.wait_for_quiet(max_wait_s=120)
                runs = {"plain": [], "tls": []}
                for _ in range(3):
                    runs["plain"].append(actctl_load(args.build, plain_addr, "unary", payload,
                                                     in_flight, dur))
                    runs["tls"].append(actctl_load(args.build, tls_addr, "unary", payload,
                                                   in_flight, dur, [f"--ca={d}/cert.pem"]))
                med = {k: sorted(v, key=lambda r: r["rps"])[1] for k, v in runs.items()}
                log(f"tls {payload} x {in_flight}: plaintext {[round(r['rps']) for r in runs['plain']]}"
                    f" TLS {[round(r['rps']) for r in runs['tls']]} req/s")
                rows.append(f"| {payload} | {in_flight} | {med['plain']['rps']:.0f} | "
                            f"{med['tls']['rps']:.0f} | {med['tls']['rps'] / med['plain']['rps']:.2f} "
                            f"| {med['plain']['mbps']:.0f} | {med['tls']['mbps']:.0f} | "
                            f"{med['tls']['mbps'] / med['plain']['mbps']:.2f} |")
    finally:
        for p in (plain, tls):
            p.terminate()
            p.wait(timeout=30)
        subprocess.run(["rm", "-rf", d], check=False)
    return "\n".join([
        f"The cost of TLS (actctl load, unary Forward relu float32, {dur} s rounds, 3 rounds "
        "alternating plaintext and TLS 1.3 with a P-256 certificate, medians):", "",
        "| payload (floats) | in flight | plaintext req/s | TLS req/s | ratio | plaintext MB/s "
        "| TLS MB/s | ratio |", "|---|---|---|---|---|---|---|---|", *rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "service-bench"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="",
                    help="metrics or tls: run only the metrics on/off or the TLS comparison")
    args = ap.parse_args()
    shared = os.path.abspath(args.shared)
    os.makedirs(args.out, exist_ok=True)
    sys.path.insert(0, shared)
    import benchlib  # ../shared/bench's noise probe

    if args.only == "metrics":
        print(metrics_cost(args, benchlib))
        return
    if args.only == "tls":
        print(tls_cost(args, benchlib))
        return

    # The shared harness's native tools (echo_server, grpc_load).
    shared_build = os.path.join(args.out, "shared-build")
    subprocess.run(["cmake", "-S", shared, "-B", shared_build, "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", shared_build, "--target", "echo_server", "grpc_load",
                    "-j2"], check=True, stdout=subprocess.DEVNULL)
    reqdir = os.path.join(args.out, "requests")
    os.makedirs(reqdir, exist_ok=True)
    write_requests(reqdir)

    server, address = start_server(args.build)
    try:
        time.sleep(1.0)
        idle_rss = rss_kib(server.pid)
        # 1. Unary against the echo ceiling.
        benchlib.wait_for_quiet(max_wait_s=120)
        unary = os.path.join(args.out, "grpc.jsonl")
        if os.path.exists(unary):
            os.remove(unary)  # the harness appends
        reps = "2" if args.quick else "5"
        log("grpc_bench.py: echo ceiling and actserve Forward")
        subprocess.run(["/usr/bin/python3", os.path.join(shared, "grpc_bench.py"), "--build",
                        shared_build, "--variants", "callback:default:floats",
                        "--payloads", ",".join(map(str, PAYLOADS)), "--loads", "1x1x1,1x16x1",
                        "--reps", reps, "--ext-target", address, "--ext-method",
                        "/actserve.v1.ActivationService/Forward", "--ext-request-dir", reqdir,
                        "--ext-pid", str(server.pid), "--out", unary],
                       check=True, stdout=subprocess.DEVNULL)
        # 2. Streaming vs unary at 1 Ki.
        benchlib.wait_for_quiet(max_wait_s=120)
        dur = 2 if args.quick else 5
        log("actctl load: unary vs stream at 1 Ki floats")
        load = {m: actctl_load(args.build, address, m, 1024, 16, dur) for m in ("unary", "stream")}
        # 3. Peak memory under 16 concurrent 1 Mi requests.
        log("actctl load: 16 concurrent 1 Mi requests, peak RSS")
        loaded = actctl_load(args.build, address, "unary", 1 << 20, 16, dur)
        peak_rss = rss_kib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    recs = [json.loads(l) for l in open(unary) if l.strip()]
    lines = ["| payload (floats) | load (channels x in flight x threads) | echo req/s | "
             "actserve req/s | ratio | echo MB/s | actserve MB/s | ratio | "
             "actserve p50 / p99 (us) |", "|---|---|---|---|---|---|---|---|---|"]
    ceiling = {}
    for r in recs:
        if r.get("label") != "ext":
            ceiling[(r["payload_floats"], r["load"])] = r
    for r in recs:
        if r.get("label") != "ext":
            continue
        base = ceiling.get((r["payload_floats"], r["load"]))
        m, b = r["metrics"], base["metrics"] if base else {}
        med = lambda d, k: d.get(k, {}).get("median", float("nan"))
        lines.append(f"| {int(r['payload_floats'])} | {r['load']} | {med(b, 'rps'):.0f} | "
                     f"{med(m, 'rps'):.0f} | {med(m, 'rps') / med(b, 'rps'):.2f} | "
                     f"{med(b, 'mbps_total'):.0f} | {med(m, 'mbps_total'):.0f} | "
                     f"{med(m, 'mbps_total') / med(b, 'mbps_total'):.2f} | "
                     f"{med(m, 'p50_us'):.0f} / {med(m, 'p99_us'):.0f} |")
    u, s = load["unary"], load["stream"]
    lines += ["", f"Streaming vs unary at 1 Ki floats, 16 in flight (actctl load): unary "
              f"{u['rps']:.0f} req/s (p50 {u['p50_us']:.0f} us, p99 {u['p99_us']:.0f} us), stream "
              f"{s['rps']:.0f} req/s (p50 {s['p50_us']:.0f} us, p99 {s['p99_us']:.0f} us): "
              f"{s['rps'] / u['rps']:.2f}x (target >= 1.5).",
              "", f"Resident memory: idle {idle_rss / 1024:.1f} MiB (target <= 32); peak under 16 "
              f"concurrent 1 Mi-float requests {peak_rss / 1024:.1f} MiB (target <= 256), at "
              f"{loaded['rps']:.0f} req/s, {loaded['mbps']:.0f} MB/s.",
              "", metrics_cost(args, benchlib), "", tls_cost(args, benchlib)]
    text = "\n".join(lines)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
