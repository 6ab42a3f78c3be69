#!/usr/bin/python3
"""deploy/compose/: the compose file passes `docker-compose config -q` (Debian's docker-compose),
and its resolved configuration follows the conventions of deploy/README.md: every actserve
replica is read-only, drops every capability, runs as a non-root user, has CPU and memory
limits, a gRPC health check and a stop grace period longer than its --drain_deadline; every
published port is on 127.0.0.1; Prometheus scrapes every replica and loads the alert rules;
nginx balances over every replica in both upstreams; Grafana's provisioning refers to files
that exist and to the data source the dashboard uses. Also `promtool check config` on the
Prometheus configuration and `nginx -t` on the nginx configuration (as the tests run it).
Exit 77 (ctest: skipped) where docker-compose is absent.

  python3 tests/compose_test.py
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

import deploy_testing as dt

COMPOSE = os.path.join(dt.ROOT, "deploy", "compose")
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + name + (f" ({detail})" if detail and not ok else ""))
    if ok:
        passed += 1
    else:
        failed += 1


def seconds(text):
    m = re.fullmatch(r"(\d+)s", str(text))
    return int(m.group(1)) if m else -1


def main():
    tool = shutil.which("docker-compose")
    if tool is None:
        dt.skip("docker-compose is not installed (Debian package docker-compose)")
    r = subprocess.run([tool, "config", "-q"], cwd=COMPOSE, capture_output=True, text=True,
                       timeout=60)
    check("docker-compose config -q accepts the compose file", r.returncode == 0, r.stderr)
    r = subprocess.run([tool, "config"], cwd=COMPOSE, capture_output=True, text=True, timeout=60)
    services = yaml.safe_load(r.stdout)["services"]
    replicas = sorted(s for s in services if s.startswith("actserve-"))
    check("at least 3 actserve replicas", len(replicas) >= 3, str(replicas))
    state_volumes = {}
    for name in replicas:
        s = services[name]
        args = dict(a.split("=", 1) for a in s.get("command", []) if "=" in a)
        check(f"{name}: read-only, all capabilities dropped, no new privileges, non-root",
              s.get("read_only") is True and s.get("cap_drop") == ["ALL"] and
              "no-new-privileges:true" in s.get("security_opt", []) and
              str(s.get("user", "0")).split(":")[0] not in ("0", "root"))
        check(f"{name}: CPU and memory limits, threads sized to the CPU limit",
              float(s.get("cpus", 0)) >= 1 and s.get("mem_limit") and
              int(args.get("--compute_threads", 0)) == int(float(s["cpus"])))
        check(f"{name}: health check through the gRPC health service",
              "health" in s.get("healthcheck", {}).get("test", []) and
              any("actctl" in t for t in s["healthcheck"]["test"]))
        drain = seconds(args.get("--drain_deadline", "10s"))
        check(f"{name}: stop grace period > --drain_deadline + 1 s lame duck",
              seconds(s.get("stop_grace_period", "10s")) > drain + 1)
        check(f"{name}: serves on every interface inside its network, publishes nothing",
              args.get("--address") == "0.0.0.0:50051" and not s.get("ports"))
        state = args.get("--state_dir")
        sources = [v.split(":")[0] if isinstance(v, str) else v.get("source")
                   for v in s.get("volumes", [])
                   if (v.split(":")[1] if isinstance(v, str) else v.get("target")) == state]
        state_volumes[name] = sources[0] if sources else None
    check("every replica keeps its jobs in its own named volume at --state_dir",
          all(state_volumes.values()) and len(set(state_volumes.values())) == len(replicas),
          str(state_volumes))
    published = [p for s in services.values() for p in s.get("ports", [])]
    check("every published port is on 127.0.0.1 (an insecure local demo)",
          published and all(str(p.get("host_ip", "")) == "127.0.0.1" if isinstance(p, dict)
                            else str(p).startswith("127.0.0.1:") for p in published),
          str(published))

    with open(os.path.join(COMPOSE, "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    targets = [t for j in prom["scrape_configs"] if j["job_name"] == "actserve"
               for c in j["static_configs"] for t in c["targets"]]
    check("Prometheus scrapes every replica's metrics port",
          sorted(targets) == [f"{r}:9464" for r in replicas], str(targets))
    mounts = [v for v in services["prometheus"].get("volumes", [])]
    rule_mounts = [m for m in mounts if (m["target"] if isinstance(m, dict) else
                                         m.split(":")[1]) in prom["rule_files"]]
    check("Prometheus loads deploy/prometheus/alerts.yml",
          len(rule_mounts) == 1 and "alerts.yml" in str(rule_mounts[0]))
    promtool = shutil.which("promtool")
    if promtool:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(dt.ROOT, "deploy", "prometheus", "alerts.yml"), tmp)
            with open(os.path.join(COMPOSE, "prometheus.yml")) as f:
                text = f.read().replace("/etc/prometheus/rules/alerts.yml",
                                        os.path.join(tmp, "alerts.yml"))
            with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
                f.write(text)
            r = subprocess.run([promtool, "check", "config", os.path.join(tmp, "prometheus.yml")],
                               capture_output=True, text=True, timeout=60)
            check("promtool check config accepts the Prometheus configuration",
                  r.returncode == 0, r.stdout + r.stderr)

    with open(os.path.join(COMPOSE, "nginx", "actserve.conf")) as f:
        nginx = f.read()
    upstreams = re.findall(r"upstream (\w+) \{(.*?)\n\}", nginx, re.S)
    check("nginx: both upstreams list every replica's gRPC port",
          len(upstreams) == 2 and all(
              sorted(re.findall(r"server (\S+?):50051", body)) == replicas
              for _, body in upstreams))
    check("nginx: HTTP/2 listener with grpc_pass", "http2" in nginx and "grpc_pass" in nginx)
    # The job-key header: the same name in deploy/k8s's Ingress (tests/k8s_test.py) and in
    # tests/scaleout_test.py, which proves the routing.
    check("nginx: training calls hash on the x-actserve-job-key header",
          "map $http_x_actserve_job_key $actserve_job_key" in nginx and
          "hash $actserve_job_key consistent" in nginx)
    if dt.nginx_available():
        with tempfile.TemporaryDirectory() as tmp:
            conf = dt.nginx_config(tmp, dt.free_port(), ["127.0.0.1:1", "127.0.0.1:2"])
            r = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-p", tmp,
                                "-c", conf], capture_output=True, text=True, timeout=30)
            check("nginx -t accepts the configuration", r.returncode == 0, r.stderr)

    grafana = services["grafana"]
    vols = {}
    for v in grafana["volumes"]:
        if isinstance(v, dict):
            vols[v["target"]] = v["source"]
        else:
            source, target = v.split(":")[:2]
            vols[target] = source
    prov = vols.get("/etc/grafana/provisioning", "")
    dashboards = vols.get("/var/lib/grafana/dashboards", "")
    with open(os.path.join(prov, "datasources", "prometheus.yml")) as f:
        ds = yaml.safe_load(f)["datasources"][0]
    with open(os.path.join(dashboards, "actserve.json")) as f:
        dash = json.load(f)
    uids = {t["datasource"]["uid"] for p in dash["panels"] for t in p.get("targets", [])}
    check("Grafana: the provisioned data source is the one every dashboard query uses",
          uids == {ds["uid"]} and ds["url"] == "http://prometheus:9090")
    with open(os.path.join(prov, "dashboards", "actserve.yml")) as f:
        provider = yaml.safe_load(f)["providers"][0]
    check("Grafana: the dashboard provider reads the mounted dashboard folder",
          provider["options"]["path"] == "/var/lib/grafana/dashboards")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
