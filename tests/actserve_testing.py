"""Helpers shared by the Python tests: stubs generated from the repository's .proto files, and
the real actserve binary started on 127.0.0.1 with free ports."""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

PROTOS = ["proto/actserve/v1/activation_service.proto",
          "proto/actserve/v1/training_service.proto",
          "proto/grpc/health/v1/health.proto"]


def catalog_names():
    """The catalog's definition names, read from THE LIST (kernels/catalog/activation_list.h), so
    that a test counts what the catalog holds instead of pinning a number."""
    with open(os.path.join(ROOT, "kernels/catalog/activation_list.h")) as f:
        text = f.read()
    body = text[text.index("#define ACTSERVE_ACTIVATIONS(X)"):text.index("// clang-format on")]
    return re.findall(r"\bX\((\w+)\)", body)


def generate_stubs(out):
    """Generates Python message and grpcio stubs into `out` and puts it on sys.path, so that
    `from proto.actserve.v1 import training_service_pb2` works."""
    subprocess.run(["protoc", f"--proto_path={ROOT}", f"--python_out={out}",
                    f"--grpc_python_out={out}",
                    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"] + PROTOS,
                   check=True, cwd=ROOT)
    sys.path.insert(0, out)


EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def make_pki(d):
    """A throw-away PKI made by the openssl command in directory `d`: ca.pem/key,
    server.pem/key (SANs localhost and 127.0.0.1) and client.pem/key, both signed by ca."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", *EC, "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        run("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem")


class ServerProcess:
    """actserve on 127.0.0.1 with free gRPC and metrics ports; `address` is host:port."""

    def __init__(self, binary, *args, prefix=()):
        """`prefix`: a command the server runs under (such as prlimit and its options)."""
        # Tests keep Abseil's lock-order checking, which the server turns off by default.
        self.proc = subprocess.Popen([*prefix, binary, "--address=127.0.0.1:0",
                                      "--metrics_address=127.0.0.1:0",
                                      "--mutex_deadlock_detection", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            raise RuntimeError("server did not start: " + line + self.proc.stderr.read())
        self.address = m.group(1)
        self._metrics_address = None

    @property
    def metrics_address(self):
        """host:port of /metrics, from the line after "listening on"."""
        if self._metrics_address is None:
            line = self.proc.stdout.readline()
            self._metrics_address = re.search(r"metrics on https?://(\S+)/metrics", line).group(1)
        return self._metrics_address

    def stop(self):
        """SIGTERM, then the exit status."""
        self.proc.terminate()
        return self.proc.wait(timeout=30)


class _CountingResult(unittest.TextTestResult):
    """Counts the tests that passed: a failure in setUpClass is an error of no test, so
    testsRun minus the failures is not the number that passed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def summary(result):
    """The last line every Python test prints: counts that add up to what ran."""
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    return f"{result.passed} passed, {failed} failed, {len(result.skipped)} skipped"


def main(requires=()):
    """Runs the calling module's unittest cases against `--server BINARY` (the path is returned
    by server_binary()), with freshly generated stubs; exits 1 if any failed, 77 (ctest: skipped)
    with the reason when a module in `requires` cannot be imported or when every test skipped."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args, rest = ap.parse_known_args()
    for module in requires:
        try:
            __import__(module)
        except ImportError as e:
            print(f"SKIPPED: {module} cannot be imported ({e}); deploy/install-deps.sh installs "
                  "it")
            sys.exit(SKIP)
    global _SERVER
    _SERVER = os.path.abspath(args.server)
    with tempfile.TemporaryDirectory() as out:
        generate_stubs(out)
        runner = unittest.TextTestRunner(resultclass=_CountingResult, verbosity=2)
        result = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                               testRunner=runner).result
    print(summary(result))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if failed:
        sys.exit(1)
    if result.passed == 0:
        sys.exit(SKIP if result.skipped else 1)
    sys.exit(0)


SKIP = 77  # ctest's SKIP_RETURN_CODE for the Python tests
_SERVER = None


def server_binary():
    """The actserve binary main() was given."""
    return _SERVER
