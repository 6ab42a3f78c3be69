#!/usr/bin/python3
"""The documented one-command install works: `pip install --no-build-isolation` of a copy of
client/python (with proto/ beside it, as in the repository) builds the package, generating its
stubs, and the installed package imports and passes the stub-drift test. Skipped (exit 77)
where pip, setuptools or wheel is missing.

  python3 client/python/tests/install_test.py --server build/server/actserve
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

for module in ("pip", "setuptools", "wheel"):
    if importlib.util.find_spec(module) is None:
        harness.skip_all(f"python3 has no {module}; deploy/install-deps.sh installs "
                         f"python3-{module}")


class InstallTest(unittest.TestCase):
    def test_pip_installs_a_package_with_current_stubs(self):
        with tempfile.TemporaryDirectory() as tmp:
            # A copy, so that the build's by-products stay out of the source tree.
            src = os.path.join(tmp, "repo")
            shutil.copytree(os.path.join(harness.ROOT, "proto"), os.path.join(src, "proto"))
            shutil.copytree(os.path.join(harness.ROOT, "client", "python"),
                            os.path.join(src, "client", "python"),
                            ignore=shutil.ignore_patterns("build", "*.egg-info", "_generated",
                                                          "__pycache__"))
            site = os.path.join(tmp, "site")
            out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                                  "--no-build-isolation", "--no-deps", "--no-index",
                                  "--target", site, os.path.join(src, "client", "python")],
                                 capture_output=True, text=True, timeout=240)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            env = dict(os.environ, PYTHONPATH=site, PYTHONDONTWRITEBYTECODE="1")

            def run_python(*args):
                return subprocess.run([sys.executable, *args], env=env, cwd=tmp,
                                      capture_output=True, text=True, timeout=240)
            where = run_python("-c", "import actserve.torch, actserve; print(actserve.__file__)")
            if where.returncode and "torch" in where.stderr:  # PyTorch absent: the client alone
                where = run_python("-c", "import actserve; print(actserve.__file__)")
            self.assertEqual(where.returncode, 0, where.stderr)
            self.assertTrue(where.stdout.startswith(site), where.stdout)
            drift = run_python(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "stubs_test.py"), "--server", harness.server_binary())
            self.assertEqual(drift.returncode, 0, drift.stdout + drift.stderr)


if __name__ == "__main__":
    harness.main()
