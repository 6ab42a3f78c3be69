"""Runs a test file's unittest cases against the real actserve binary, started on 127.0.0.1
with free ports by tests/actserve_testing.py's ServerProcess.

  python3 client/python/tests/client_test.py --server build/server/actserve

The package under test is whichever `actserve` is importable: the staged one on PYTHONPATH
under ctest, or an installed one.
"""
import argparse
import os
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from actserve_testing import ServerProcess  # noqa: E402,F401

SKIP = 77  # ctest's SKIP_RETURN_CODE
_server_binary = None


def server_binary() -> str:
    """The actserve binary given with --server."""
    return _server_binary


def stop(server: ServerProcess) -> int:
    """Stops a server (SIGTERM) and returns its exit status."""
    status = server.stop()
    server.proc.stdout.close()
    server.proc.stderr.close()
    return status


def skip_all(reason: str) -> None:
    """Exits with ctest's skip code, saying why."""
    print(f"SKIPPED: {reason}")
    sys.exit(SKIP)


def main() -> None:
    """Parses --server, runs the calling module's tests and exits 0 only if some ran and none
    failed."""
    global _server_binary
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args, rest = ap.parse_known_args()
    _server_binary = os.path.abspath(args.server)
    result = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                           verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed - len(result.skipped)} passed, {failed} failed, "
          f"{len(result.skipped)} skipped")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
