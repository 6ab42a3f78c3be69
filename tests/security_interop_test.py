#!/usr/bin/python3
"""Security from Python grpcio (a second, independent TLS stack's client side): TLS and mTLS
handshakes with the real actserve binary, bearer tokens and roles. Certificates are made by the
openssl command in a temporary directory; exits 77 (skip) without it.

  python3 tests/security_interop_test.py --server build/server/actserve
"""
import hashlib
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import actserve_testing  # noqa: E402
from actserve_testing import ServerProcess, make_pki  # noqa: E402

def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


class SecurityInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        from proto.actserve.v1 import activation_service_pb2 as pb
        from proto.actserve.v1 import activation_service_pb2_grpc as pb_grpc
        from proto.actserve.v1 import training_service_pb2 as tpb
        from proto.actserve.v1 import training_service_pb2_grpc as tpb_grpc
        cls.grpc, cls.pb, cls.pb_grpc, cls.tpb, cls.tpb_grpc = grpc, pb, pb_grpc, tpb, tpb_grpc
        cls.dir = tempfile.mkdtemp(prefix="actserve-pyauth-")
        make_pki(cls.dir)
        tokens = os.path.join(cls.dir, "tokens")
        with open(tokens, "w") as f:
            f.write(f"sha256:{hashlib.sha256(b'py-compute').hexdigest()} py compute\n")
        base = ["--tls_cert=" + os.path.join(cls.dir, "server.pem"),
                "--tls_key=" + os.path.join(cls.dir, "server.key"), "--tokens_file=" + tokens]
        cls.tls = ServerProcess(actserve_testing.server_binary(), *base)
        cls.mtls = ServerProcess(actserve_testing.server_binary(), *base,
                                 "--tls_client_ca=" + os.path.join(cls.dir, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        assert cls.tls.stop() == 0
        assert cls.mtls.stop() == 0
        shutil.rmtree(cls.dir)

    def channel(self, server, client_cert=False):
        creds = self.grpc.ssl_channel_credentials(
            root_certificates=read(self.dir, "ca.pem"),
            private_key=read(self.dir, "client.key") if client_cert else None,
            certificate_chain=read(self.dir, "client.pem") if client_cert else None)
        return self.grpc.secure_channel(server.address, creds)

    def list_activations(self, channel, token):
        md = [("authorization", "Bearer " + token)] if token else []
        stub = self.pb_grpc.ActivationServiceStub(channel)
        return stub.ListActivations(self.pb.ListActivationsRequest(), metadata=md, timeout=10)

    def code_of(self, call):
        with self.assertRaises(self.grpc.RpcError) as e:
            call()
        return e.exception.code()

    def test_tls_with_a_token_is_served(self):
        with self.channel(self.tls) as ch:
            self.assertGreater(len(self.list_activations(ch, "py-compute").activations), 40)

    def test_tls_without_or_with_a_wrong_token_is_unauthenticated(self):
        with self.channel(self.tls) as ch:
            for token in (None, "nope"):
                self.assertEqual(self.code_of(lambda: self.list_activations(ch, token)),
                                 self.grpc.StatusCode.UNAUTHENTICATED)

    def test_a_role_the_token_lacks_is_permission_denied(self):
        with self.channel(self.tls) as ch:
            stub = self.tpb_grpc.TrainingServiceStub(ch)
            self.assertEqual(
                self.code_of(lambda: stub.ListJobs(
                    self.tpb.ListJobsRequest(), timeout=10,
                    metadata=[("authorization", "Bearer py-compute")])),
                self.grpc.StatusCode.PERMISSION_DENIED)

    def test_mtls_needs_a_client_certificate(self):
        with self.channel(self.mtls, client_cert=True) as ch:
            self.assertGreater(len(self.list_activations(ch, "py-compute").activations), 40)
        with self.channel(self.mtls) as ch:
            self.assertEqual(self.code_of(lambda: self.list_activations(ch, "py-compute")),
                             self.grpc.StatusCode.UNAVAILABLE)

    def test_plaintext_is_refused_on_a_tls_port(self):
        with self.grpc.insecure_channel(self.tls.address) as ch:
            self.assertEqual(self.code_of(lambda: self.list_activations(ch, "py-compute")),
                             self.grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    if shutil.which("openssl") is None:
        print("skipped: no openssl command (deploy/install-deps.sh installs it)")
        sys.exit(77)
    actserve_testing.main()
