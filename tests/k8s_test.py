#!/usr/bin/python3
"""deploy/k8s/: every kustomization (base and overlays) renders with `kubectl kustomize`; every
rendered object validates against the Kubernetes API schemas offline (npm kubernetes-models,
tests/k8s_schema/); and the rendered objects follow the conventions of deploy/README.md:
non-root, read-only root file system, capabilities dropped, requests = limits, native gRPC
probes, preStop + --drain_deadline < terminationGracePeriodSeconds, the ports of the flags
ConfigMap are the container's, a ClusterIP and a headless Service over the pods, an HPA and a
PodDisruptionBudget for the StatefulSet, --state_dir on each replica's own volume claim, a
NetworkPolicy, a Secret placeholder, and in production
a ServiceMonitor and a gRPC Ingress that routes training calls by job key.
Exit 77 (ctest: skipped) where kubectl (or kustomize) is absent, or, after the convention checks
pass, where the schema packages are absent and npm cannot install them.

  python3 tests/k8s_test.py [--models_dir DIR]   (DIR: where node_modules is or goes)
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
K8S = os.path.join(ROOT, "deploy", "k8s")
KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/production"]
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "k8s_schema")
JOB_KEY = "x-actserve-job-key"  # deploy/compose/nginx/actserve.conf hashes on the same header

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + name + (f" ({detail})" if detail and not ok else ""))
    if ok:
        passed += 1
    else:
        failed += 1


def render(tool, path):
    cmd = [tool, "kustomize", path] if os.path.basename(tool) == "kubectl" else [tool, "build",
                                                                                   path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None, out.stderr
    return [o for o in yaml.safe_load_all(out.stdout) if o], ""


def seconds(duration):
    m = re.fullmatch(r"(\d+)s", duration)
    return int(m.group(1))


def conventions(name, objs):
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    deps = by_kind.get("StatefulSet", [])
    check(f"{name}: one StatefulSet", len(deps) == 1 and not by_kind.get("Deployment"))
    if len(deps) != 1:
        return
    dep = deps[0]
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    (c,) = pod["containers"]
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})

    def selects(selector):
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    check(f"{name}: runs as non-root",
          psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0)
    check(f"{name}: read-only root file system", csc.get("readOnlyRootFilesystem") is True)
    check(f"{name}: every capability dropped, no privilege escalation",
          csc.get("capabilities", {}).get("drop") == ["ALL"] and
          csc.get("allowPrivilegeEscalation") is False and not csc.get("privileged"))
    check(f"{name}: seccomp RuntimeDefault, no service account token",
          psc.get("seccompProfile", {}).get("type") == "RuntimeDefault" and
          pod.get("automountServiceAccountToken") is False)
    res = c.get("resources", {})
    check(f"{name}: CPU and memory requests equal limits (Guaranteed)",
          all(res.get(k, {}).get(r) for k in ("requests", "limits") for r in ("cpu", "memory"))
          and res["requests"] == res["limits"])
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    probes = [c.get(p) for p in ("startupProbe", "readinessProbe", "livenessProbe")]
    check(f"{name}: startup, readiness and liveness probes are native gRPC on the gRPC port",
          all(p and p.get("grpc", {}).get("port") == ports.get("grpc") for p in probes),
          str(probes))
    # The flags: from the ConfigMap the container's --flagfile names.
    flagfile = next((a.split("=", 1)[1] for a in c.get("args", []) if a.startswith("--flagfile=")),
                    None)
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    flags = {}
    if flagfile:
        vol = volumes.get(mounts.get(os.path.dirname(flagfile)), {})
        cm_name = vol.get("configMap", {}).get("name")
        cm = next((o for o in by_kind.get("ConfigMap", []) if o["metadata"]["name"] == cm_name),
                  None)
        if cm:
            text = cm["data"][os.path.basename(flagfile)]
            flags = dict(l.split("=", 1) for l in text.split() if "=" in l)
    check(f"{name}: the flags come from a ConfigMap (--flagfile)", bool(flags), flagfile or "")
    check(f"{name}: the flags' ports are the container's ports",
          flags.get("--address", "").endswith(f":{ports.get('grpc')}") and
          flags.get("--metrics_address", "").endswith(f":{ports.get('metrics')}"))
    pre = c.get("lifecycle", {}).get("preStop", {})
    pre_s = int(pre["exec"]["command"][-1]) if "exec" in pre else pre.get("sleep", {}).get(
        "seconds", 0)
    drain = seconds(flags.get("--drain_deadline", "10s"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(f"{name}: grace period {grace}s > preStop {pre_s}s + drain {drain}s + 1s lame duck",
          pre_s > 0 and grace > pre_s + drain + 1)
    update = dep["spec"].get("updateStrategy", {})
    check(f"{name}: rolling updates replace one pod at a time",
          update.get("type", "RollingUpdate") == "RollingUpdate" and
          update.get("rollingUpdate", {}).get("maxUnavailable", 1) == 1)
    claims = {t["metadata"]["name"]: t for t in dep["spec"].get("volumeClaimTemplates", [])}
    state = flags.get("--state_dir")
    check(f"{name}: --state_dir is each replica's own volume claim, kept on scale-down",
          state is not None and mounts.get(state) in claims and mounts[state] not in volumes and
          claims[mounts[state]]["spec"]["accessModes"] == ["ReadWriteOnce"] and
          dep["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenScaled",
                                                                           "Retain") == "Retain"
          and psc.get("fsGroup") == psc.get("runAsUser"), f"--state_dir={state}")
    check(f"{name}: the StatefulSet's governing Service is the headless one",
          any(s["metadata"]["name"] == dep["spec"].get("serviceName") and
              s["spec"].get("clusterIP") == "None" for s in by_kind.get("Service", [])))
    svcs = by_kind.get("Service", [])
    clusterip = [s for s in svcs if s["spec"].get("clusterIP") != "None"]
    headless = [s for s in svcs if s["spec"].get("clusterIP") == "None"]
    check(f"{name}: a ClusterIP and a headless Service select the pods on the gRPC port",
          len(clusterip) == 1 and len(headless) == 1 and
          all(selects(s["spec"]["selector"]) and
              any(p["name"] == "grpc" and p["targetPort"] in ("grpc", ports["grpc"])
                  for p in s["spec"]["ports"]) for s in svcs))
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    check(f"{name}: an HPA scales the StatefulSet",
          len(hpas) == 1 and hpas[0]["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
          and hpas[0]["spec"]["scaleTargetRef"]["kind"] == "StatefulSet" and
          1 <= hpas[0]["spec"]["minReplicas"] <= hpas[0]["spec"]["maxReplicas"])
    pdbs = by_kind.get("PodDisruptionBudget", [])
    check(f"{name}: a PodDisruptionBudget over the pods allows one disruption at a time",
          len(pdbs) == 1 and selects(pdbs[0]["spec"]["selector"]["matchLabels"]) and
          pdbs[0]["spec"].get("maxUnavailable") == 1)
    nps = by_kind.get("NetworkPolicy", [])
    check(f"{name}: a NetworkPolicy over the pods restricts ingress and egress",
          len(nps) == 1 and selects(nps[0]["spec"]["podSelector"]["matchLabels"]) and
          set(nps[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"} and
          any(p["port"] == ports["grpc"] for r in nps[0]["spec"]["ingress"]
              for p in r["ports"]))
    secret_vols = [v for v in volumes.values() if "secret" in v]
    check(f"{name}: a credentials Secret placeholder exists and is mounted (optional)",
          len(secret_vols) == 1 and secret_vols[0]["secret"].get("optional") is True and
          any(o["metadata"]["name"] == secret_vols[0]["secret"]["secretName"]
              for o in by_kind.get("Secret", [])))
    if name.endswith("production"):
        check(f"{name}: the image is pinned (not latest)",
              not c["image"].endswith(":latest") and ":" in c["image"])
        sms = by_kind.get("ServiceMonitor", [])
        sel = sms[0]["spec"]["selector"]["matchLabels"] if sms else {}
        scraped = [s for s in svcs if all(s["metadata"].get("labels", {}).get(k) == v
                                          for k, v in sel.items())]
        check(f"{name}: a ServiceMonitor scrapes the metrics port through exactly one Service",
              len(sms) == 1 and len(scraped) == 1 and
              any(p["name"] == sms[0]["spec"]["endpoints"][0]["port"]
                  for p in scraped[0]["spec"]["ports"]))
        ings = by_kind.get("Ingress", [])
        ann = [i["metadata"].get("annotations", {}) for i in ings]
        check(f"{name}: the Ingress speaks gRPC to the pods; training calls hash on {JOB_KEY}",
              ings and all(a.get("nginx.ingress.kubernetes.io/backend-protocol") == "GRPC"
                           for a in ann) and
              any(a.get("nginx.ingress.kubernetes.io/upstream-hash-by") ==
                  "$http_" + JOB_KEY.replace("-", "_") for a in ann))


def validate_schemas(objects_by_name, models_dir):
    """Returns None when the check ran, else the reason it could not."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    modules = os.path.join(models_dir, "node_modules")
    if not os.path.isdir(os.path.join(modules, "kubernetes-models")):
        npm = shutil.which("npm")
        if npm is None:
            return "the kubernetes-models npm packages are absent and npm is not installed"
        os.makedirs(models_dir, exist_ok=True)
        shutil.copy(os.path.join(SCHEMA_DIR, "package.json"), models_dir)
        try:
            r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix",
                                models_dir], capture_output=True, text=True, timeout=150)
        except subprocess.TimeoutExpired:
            return "npm install of kubernetes-models timed out (no registry?)"
        if r.returncode != 0:
            return "npm install of kubernetes-models failed: " + r.stderr[-300:]
    with tempfile.TemporaryDirectory() as tmp:
        for name, objs in objects_by_name.items():
            path = os.path.join(tmp, "objects.json")
            with open(path, "w") as f:
                json.dump(objs, f)
            r = subprocess.run([node, os.path.join(SCHEMA_DIR, "validate.mjs"), path],
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "K8S_MODELS_DIR": modules})
            lines = r.stdout.splitlines()
            bad = [l for l in lines if not l.startswith("PASS")]
            check(f"{name}: all {len(objs)} objects validate against the Kubernetes schemas",
                  r.returncode == 0 and len(lines) == len(objs),
                  "; ".join(bad)[:800] + r.stderr[-300:])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models_dir", default=os.path.join(tempfile.gettempdir(),
                                                         "actserve-k8s-schema"))
    args = ap.parse_args()
    tool = shutil.which("kubectl") or shutil.which("kustomize")
    if tool is None:
        print("SKIPPED: neither kubectl nor kustomize is installed (nothing renders kustomize)")
        sys.exit(77)
    rendered = {}
    for k in KUSTOMIZATIONS:
        objs, err = render(tool, os.path.join(K8S, k))
        check(f"{k}: renders with {os.path.basename(tool)} kustomize", objs is not None, err)
        if objs is not None:
            rendered[k] = objs
            conventions(k, objs)
    reason = validate_schemas(rendered, os.path.abspath(args.models_dir))
    print(f"{passed} passed, {failed} failed")
    if failed:
        sys.exit(1)
    if reason:
        print("SKIPPED: schema validation: " + reason)
        sys.exit(77)


if __name__ == "__main__":
    main()
