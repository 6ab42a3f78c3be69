#!/usr/bin/python3
"""Every PromQL expression of the Grafana dashboard (deploy/grafana/actserve.json) and of the
alert rules (deploy/prometheus/alerts.yml) returns data from a real Prometheus that scrapes two
real actserve replicas under load: inference calls (some of them invalid) and training jobs.
Prometheus runs deploy/compose/prometheus.yml with its targets replaced and the rules loaded,
and every rule must load and evaluate without error. An alert's expression is checked without
its final comparison (`up == 0` as `up`), which would otherwise hide a misspelt metric.
Exit 77 (ctest: skipped) where prometheus is not installed.

  python3 tests/promql_test.py --server build/server/actserve
"""
import argparse
import math
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error

import deploy_testing as dt

RATE_WINDOW = "20s"  # stands for Grafana's $__rate_interval (scrapes every second here)


def dashboard_queries():
    import json
    with open(os.path.join(dt.ROOT, "deploy", "grafana", "actserve.json")) as f:
        dash = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((f'dashboard "{p["title"]}" {t["refId"]}', t["expr"]))
            walk(p.get("panels", []))
    walk(dash["panels"])
    for v in dash["templating"]["list"]:
        m = re.match(r"label_values\((.*), (\w+)\)$", v["query"]["query"])
        out.append((f'dashboard variable {v["name"]}', m.group(1)))
    return [(name, expr.replace("$__rate_interval", RATE_WINDOW).replace("$instance", ".*"))
            for name, expr in out]


def alert_queries():
    """(name, query without its final comparison) for every rule of alerts.yml; read with a
    small line parser (PyYAML is not a dependency): `- alert:` then `expr:` inline or `|`."""
    with open(os.path.join(dt.ROOT, "deploy", "prometheus", "alerts.yml")) as f:
        lines = f.read().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"\s*- alert: (\w+)", lines[i])
        if m:
            name = m.group(1)
            while "expr:" not in lines[i]:
                i += 1
            inline = lines[i].split("expr:", 1)[1].strip()
            if inline != "|":
                expr = inline
            else:
                indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) >= indent):
                    body.append(lines[i].strip())
                    i += 1
                expr = " ".join(body)
            base = re.sub(r"\s*(==|!=|>=|<=|>|<)\s*[0-9.e+]+\s*$", "", expr)
            if base == expr:
                raise ValueError(f"alert {name}: expression has no final comparison: {expr}")
            out.append((f"alert {name}", base))
        i += 1
    return out


def load(replicas, stop, grpc, apb, apb_grpc, pb, pb_grpc):
    """Inference calls on every replica until `stop`, a tenth of them invalid, and one training
    job per replica every few seconds."""
    channels = [grpc.insecure_channel(r.address) for r in replicas]
    act = [apb_grpc.ActivationServiceStub(c) for c in channels]
    train = [pb_grpc.TrainingServiceStub(c) for c in channels]
    from google.protobuf import text_format
    with open(os.path.join(dt.ROOT, "client", "examples", "xor.textproto")) as f:
        spec = text_format.Parse(f.read(), pb.JobSpec())
    spec.epochs = 5
    x = apb.Tensor(shape=[256], dtype=apb.DTYPE_FLOAT32, float_data=[0.01 * i for i in range(256)])
    n, last_job = 0, 0.0
    while not stop.is_set():
        for a in act:
            name = "relux" if n % 10 == 0 else ("gelu", "tanh", "relu")[n % 3]
            try:
                a.Forward(apb.ForwardRequest(activation=name, x=x), timeout=5)
                a.Backward(apb.BackwardRequest(activation="tanh", x=x, dy=x), timeout=5)
            except grpc.RpcError:
                pass
        if time.time() - last_job > 3:
            for t in train:
                t.SubmitJob(pb.SubmitJobRequest(spec=spec), timeout=5)
            last_job = time.time()
        n += 1
        time.sleep(0.002)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    if shutil.which("prometheus") is None:
        dt.skip("prometheus is not installed (Debian package prometheus)")
    queries = dashboard_queries() + alert_queries()
    work = tempfile.mkdtemp()
    os.makedirs(os.path.join(work, "stubs"))
    dt.actserve_testing.generate_stubs(os.path.join(work, "stubs"))
    import grpc
    from proto.actserve.v1 import activation_service_pb2 as apb
    from proto.actserve.v1 import activation_service_pb2_grpc as apb_grpc
    from proto.actserve.v1 import training_service_pb2 as pb
    from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc

    replicas = [dt.Replica(os.path.abspath(args.server), "--compute_threads=1",
                           "--training_workers=1") for _ in range(2)]
    with open(os.path.join(dt.ROOT, "deploy", "compose", "prometheus.yml")) as f:
        config = f.read()
    targets = ", ".join(f'"{r.metrics}"' for r in replicas)
    config = re.sub(r'\["actserve-1:9464".*\]', f"[{targets}]", config)
    config = config.replace("5s", "1s").replace("/etc/prometheus/rules/alerts.yml",
                                                os.path.join(work, "prom", "alerts.yml"))
    prom = dt.Prometheus(os.path.join(work, "prom"), config,
                         [os.path.join(dt.ROOT, "deploy", "prometheus", "alerts.yml")])
    stop = threading.Event()
    loader = threading.Thread(target=load, args=(replicas, stop, grpc, apb, apb_grpc, pb, pb_grpc))
    loader.start()
    passed, errors, rules_ok = {}, {}, None
    try:
        deadline = time.time() + 90
        while time.time() < deadline and (len(passed) < len(queries) or not rules_ok):
            time.sleep(1)
            for name, expr in queries:
                if name in passed:
                    continue
                try:
                    samples = prom.query(expr)
                except urllib.error.HTTPError as e:
                    errors[name] = e.read().decode()  # a query Prometheus refuses
                    continue
                except OSError:
                    break  # Prometheus still starting
                # Data: at least one sample, and a number (histogram_quantile of an idle
                # method is NaN; one finite series is required).
                if any(not math.isnan(v) for _, v in samples):
                    passed[name] = len(samples)
            try:
                rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
                rules_ok = (len(rules) == len([q for q in queries if q[0].startswith("alert")])
                            and all(r["health"] == "ok" and r.get("lastEvaluation", "0001")
                                    [:4] != "0001" for r in rules))
            except OSError:
                pass
        for name, expr in queries:  # what a failed query returned, for the log
            if name not in passed and name not in errors:
                try:
                    errors[name] = "returned " + str(prom.query(expr))[:300]
                except OSError as e:
                    errors[name] = str(e)
    finally:
        stop.set()
        loader.join()
        prom.stop()
        for r in replicas:
            r.stop()
        shutil.rmtree(work, ignore_errors=True)
    failed = 0
    for name, expr in queries:
        if name in passed:
            print(f"PASS {name}: {passed[name]} series")
        else:
            failed += 1
            print(f"FAIL {name}: no data from {expr} {errors.get(name, '')}")
    print(("PASS" if rules_ok else "FAIL") + " every alert rule loads and evaluates healthy")
    failed += 0 if rules_ok else 1
    print(f"{len(queries) + 1 - failed} passed, {failed} failed")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
