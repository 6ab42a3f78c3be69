"""Helpers shared by the deployment tests (promql_test.py, scaleout_test.py): actserve replicas
on loopback with known ports, their metrics read from /metrics, a real Prometheus, and a real
nginx run as a normal process with deploy/compose/nginx/actserve.conf."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import actserve_testing  # noqa: E402  (generate_stubs)

SKIP = 77


def skip(reason):
    print("SKIPPED: " + reason)
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Replica:
    """One actserve process on 127.0.0.1 with fixed ports, so that it can be restarted in place."""

    def __init__(self, binary, *args):
        self.binary, self.args = binary, list(args)
        self.port, self.metrics_port = free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.metrics = f"127.0.0.1:{self.metrics_port}"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, f"--address={self.address}", f"--metrics_address={self.metrics}",
             *self.args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        wait_port(self.metrics_port)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`, from this replica's
        /metrics; 0 where none matches."""
        with urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=5) as r:
            text = r.read().decode()
        total = 0.0
        for line in text.splitlines():
            m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
            if not m or m.group(1) != name:
                continue
            have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
        return total


class Prometheus:
    """Debian's prometheus with a configuration text, on a free loopback port."""

    def __init__(self, work, config, rule_files=()):
        binary = shutil.which("prometheus")
        os.makedirs(work, exist_ok=True)
        for path in rule_files:
            shutil.copy(path, work)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(config)
        self.address = f"127.0.0.1:{free_port()}"
        self.log = open(os.path.join(work, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/data",
             f"--web.listen-address={self.address}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"http://{self.address}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)["data"]

    def query(self, expr):
        """The instant vector's samples as (labels, value) pairs."""
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(v["metric"], float(v["value"][1])) for v in data["result"]]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def nginx_config(work, port, replicas):
    """deploy/compose/nginx/actserve.conf with its upstream servers replaced by `replicas`
    (host:port strings) and its gRPC listen port by `port`, in a complete nginx.conf that runs as
    a normal process under `work`. Returns the path of that nginx.conf."""
    with open(os.path.join(ROOT, "deploy", "compose", "nginx", "actserve.conf")) as f:
        conf = f.read()

    def upstream(m):
        options = re.search(r"server actserve-1:50051( [^;]*);", m.group(0)).group(1)
        lines = [l for l in m.group(0).splitlines() if "server actserve-" not in l]
        servers = [f"    server {r}{options};" for r in replicas]
        return "\n".join(lines[:-1] + servers + lines[-1:])

    conf = re.sub(r"upstream \w+ \{.*?\n\}", upstream, conf, flags=re.S)
    conf = conf.replace("listen 50051 http2;", f"listen 127.0.0.1:{port} http2;")
    conf = conf.replace("listen 8081;", f"listen 127.0.0.1:{free_port()};")
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    main = f"""
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/client_body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
{conf}
}}
"""
    path = os.path.join(work, "nginx.conf")
    with open(path, "w") as f:
        f.write(main)
    return path


class Nginx:
    def __init__(self, work, replicas):
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        conf = nginx_config(work, self.port, replicas)
        self.work = work
        self.proc = subprocess.Popen([self.binary, "-p", work, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def errors(self):
        with open(os.path.join(self.work, "error.log")) as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def nginx_available():
    return shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")
