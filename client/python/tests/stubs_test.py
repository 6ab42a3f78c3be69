#!/usr/bin/python3
"""The installed package's generated stubs are protoc's output for the repository's proto/,
unedited but for the one import prefix generate_stubs.py documents, and they describe the API
the real server serves (compared through its reflection service).

  PYTHONPATH=build/client/python/site python3 client/python/tests/stubs_test.py \
      --server build/server/actserve
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# The generator from the source tree (appended: the package under test stays first on the path).
sys.path.append(os.path.join(harness.ROOT, "client", "python"))
import generate_stubs  # noqa: E402

import actserve  # noqa: E402
from actserve import pb  # noqa: E402


def installed_stubs():
    """{path relative to actserve/_generated: bytes} of the imported package."""
    gen = os.path.dirname(actserve._generated.__file__)
    files = {}
    for dirpath, _, names in os.walk(gen):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    files[os.path.relpath(path, gen)] = f.read()
    return files


class StubsTest(unittest.TestCase):
    def test_installed_stubs_equal_a_fresh_generation_from_proto(self):
        fresh = generate_stubs.generated_files()
        installed = installed_stubs()
        self.assertEqual(sorted(installed), sorted(fresh),
                         "the installed stub files are not those proto/ generates; rebuild "
                         "(cmake --build build --target actserve_python) or reinstall")
        for rel, data in fresh.items():
            self.assertEqual(installed[rel], data,
                             f"{rel} differs from what proto/ generates; rebuild or reinstall")

    def test_the_only_change_to_protocs_output_is_the_import_prefix(self):
        with tempfile.TemporaryDirectory() as raw:
            subprocess.run(["protoc", f"--proto_path={harness.ROOT}", f"--python_out={raw}",
                            f"--grpc_python_out={raw}",
                            f"--plugin=protoc-gen-grpc_python={generate_stubs.GRPC_PLUGIN}"]
                           + generate_stubs.PROTOS, check=True, cwd=harness.ROOT)
            checked = 0
            for rel, data in installed_stubs().items():
                raw_path = os.path.join(raw, rel)
                if not os.path.exists(raw_path):
                    self.assertEqual(data, b"", f"{rel} is not protoc's and not empty")
                    continue
                with open(raw_path, "rb") as f:
                    want = f.read()
                got = data.replace(b"\n" + generate_stubs.IMPORT_TO.encode(),
                                   b"\n" + generate_stubs.IMPORT_FROM.encode())
                self.assertEqual(got, want, rel)
                checked += 1
            self.assertEqual(checked, 2 * len(generate_stubs.PROTOS))

    def test_the_servers_api_is_the_packages(self):
        # The server's own descriptors, through gRPC reflection, against the package's.
        import grpc
        from google.protobuf import descriptor_pb2
        out = self.enterContext(tempfile.TemporaryDirectory())
        sys.path.insert(0, out)
        subprocess.run(["protoc", f"--proto_path={harness.ROOT}", f"--python_out={out}",
                        f"--grpc_python_out={out}",
                        f"--plugin=protoc-gen-grpc_python={generate_stubs.GRPC_PLUGIN}",
                        "proto/grpc/reflection/v1alpha/reflection.proto"],
                       check=True, cwd=harness.ROOT)
        from proto.grpc.reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
        server = harness.ServerProcess(harness.server_binary())
        try:
            with grpc.insecure_channel(server.address) as channel:
                stub = reflection_pb2_grpc.ServerReflectionStub(channel)
                for module in (pb.ForwardRequest, pb.JobSpec):
                    name = module.DESCRIPTOR.file.name
                    req = reflection_pb2.ServerReflectionRequest(file_by_filename=name)
                    (resp,) = list(stub.ServerReflectionInfo(iter([req]), timeout=10))
                    served = {}
                    for raw in resp.file_descriptor_response.file_descriptor_proto:
                        fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
                        served[fd.name] = fd
                    mine = descriptor_pb2.FileDescriptorProto()
                    module.DESCRIPTOR.file.CopyToProto(mine)
                    self.assertEqual(served[name], mine, name)
        finally:
            self.assertEqual(harness.stop(server), 0)


if __name__ == "__main__":
    harness.main()
