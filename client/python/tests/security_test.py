#!/usr/bin/python3
"""actserve.Client's credentials against the real server with TLS, mTLS and tokens: tls/ca/
cert/key, token_file and $ACTSERVE_TOKEN; what is missing is named in the error; a tenant over
its rate gets ActserveError.retry_after from the server's google.rpc.RetryInfo. Certificates are
made by the openssl command in a temporary directory (exits 77, skipped, without it); tokens by
`hashlib`, as the tokens file's format says.

  PYTHONPATH=build/client/python/site python3 client/python/tests/security_test.py \\
      --server build/server/actserve
"""
import hashlib
import os
import shutil
import sys
import tempfile
import time
import unittest
from unittest import mock

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from actserve_testing import ServerProcess, make_pki  # noqa: E402

import actserve  # noqa: E402

class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="actserve-pysec-")
        make_pki(cls.dir)
        cls.tokens = os.path.join(cls.dir, "tokens")
        with open(cls.tokens, "w") as f:
            for token, tenant in (("py-alice", "alice"), ("py-bob", "bob")):
                f.write(f"sha256:{hashlib.sha256(token.encode()).hexdigest()} {tenant} "
                        "compute,train\n")
        cls.token_file = os.path.join(cls.dir, "token")
        with open(cls.token_file, "w") as f:
            f.write("py-alice\n")
        cls.server = ServerProcess(
            harness.server_binary(), "--tls_cert=" + cls.path("server.pem"),
            "--tls_key=" + cls.path("server.key"), "--tls_client_ca=" + cls.path("ca.pem"),
            "--tokens_file=" + cls.tokens, "--tenant_rps=5", "--tenant_burst=5")
        cls.target = cls.server.address  # 127.0.0.1: an IP SAN of the certificate

    @classmethod
    def tearDownClass(cls):
        assert harness.stop(cls.server) == 0
        shutil.rmtree(cls.dir)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    def client(self, **kw):
        creds = dict(ca=self.path("ca.pem"), cert=self.path("client.pem"),
                     key=self.path("client.key"))
        creds.update(kw)
        return actserve.Client(self.target, timeout=10, **creds)

    def test_mtls_with_a_token_file(self):
        with self.client(token_file=self.token_file) as c:
            self.assertEqual(list(c.forward("relu", [-1.0, 2.0])), [0.0, 2.0])

    def test_the_token_from_the_environment(self):
        with mock.patch.dict(os.environ, {"ACTSERVE_TOKEN": "py-alice"}):
            with self.client() as c:
                self.assertGreater(len(c.activations()), 40)

    def test_without_a_token_the_error_says_how_to_send_one(self):
        with mock.patch.dict(os.environ, {}, clear=False) as env:
            env.pop("ACTSERVE_TOKEN", None)
            with self.client() as c:
                with self.assertRaises(actserve.ActserveError) as e:
                    c.forward("relu", [1.0])
        self.assertEqual(e.exception.code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("token_file=", e.exception.message)

    def test_without_a_client_certificate_the_handshake_fails(self):
        with self.client(cert=None, key=None, token="py-alice") as c:
            with self.assertRaises(actserve.ActserveError) as e:
                c.forward("relu", [1.0])
        self.assertEqual(e.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_cert_without_key_is_refused_before_connecting(self):
        with self.assertRaises(ValueError):
            self.client(key=None, token="py-alice")

    def test_over_its_rate_a_tenant_is_told_when_to_retry(self):
        with self.client(token="py-bob") as c:
            errors = []
            for _ in range(20):
                try:
                    c.forward("relu", [1.0])
                except actserve.ActserveError as e:
                    errors.append(e)
            self.assertGreaterEqual(len(errors), 10)
            for e in errors:
                self.assertEqual(e.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
                self.assertIn("--tenant_rps", e.message)
                self.assertIsNotNone(e.retry_after)
                self.assertGreater(e.retry_after, 0)
                self.assertLessEqual(e.retry_after, 0.2 + 1e-9)  # one token at 5/s
            time.sleep(errors[-1].retry_after)
            self.assertEqual(list(c.forward("relu", [1.0])), [1.0])
        # Meanwhile the other tenant was not refused.
        with self.client(token="py-alice") as c:
            self.assertEqual(list(c.forward("relu", [3.0])), [3.0])


if __name__ == "__main__":
    if shutil.which("openssl") is None:
        harness.skip_all("no openssl command (deploy/install-deps.sh installs it)")
    harness.main()
