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


class ServerProcess:
    """actserve on 127.0.0.1 with free gRPC and metrics ports; `address` is host:port."""

    def __init__(self, binary, *args):
        self.proc = subprocess.Popen([binary, "--address=127.0.0.1:0",
                                      "--metrics_address=127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            raise RuntimeError("server did not start: " + line + self.proc.stderr.read())
        self.address = m.group(1)

    def stop(self):
        """SIGTERM, then the exit status."""
        self.proc.terminate()
        return self.proc.wait(timeout=30)


def main():
    """Runs the calling module's unittest cases against `--server BINARY` (the path is returned
    by server_binary()), with freshly generated stubs; exits 1 if any failed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args, rest = ap.parse_known_args()
    global _SERVER
    _SERVER = os.path.abspath(args.server)
    with tempfile.TemporaryDirectory() as out:
        generate_stubs(out)
        result = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                               verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed - len(result.skipped)} passed, {failed} failed, "
          f"{len(result.skipped)} skipped")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)


_SERVER = None


def server_binary():
    """The actserve binary main() was given."""
    return _SERVER
