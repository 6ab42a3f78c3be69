#!/usr/bin/python3
"""Generates the package's protobuf and grpcio stubs from the repository's .proto files.

protoc names a generated module after its .proto path, so the stubs import each other as
`proto.actserve.v1...`; the package keeps them under `actserve._generated`, and the one
mechanical change made to protoc's output is that import prefix (IMPORT_FROM -> IMPORT_TO).
Nothing else is edited, by hand or otherwise; tests/stubs_test.py regenerates the stubs and
fails if the installed ones differ.

  generate_stubs.py --out DIR     stubs into DIR/actserve/_generated (DIR holds the package)
  generate_stubs.py --stage DIR   the package's sources copied to DIR/actserve, then the stubs:
                                  an importable tree for PYTHONPATH (the CMake target's output)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository root, the proto path the C++ build uses too.
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROTOS = ["proto/actserve/v1/activation_service.proto",
          "proto/actserve/v1/training_service.proto",
          "proto/grpc/health/v1/health.proto"]
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"
IMPORT_FROM = "from proto."
IMPORT_TO = "from actserve._generated.proto."


def generated_files(proto_root=ROOT, protoc="protoc", plugin=GRPC_PLUGIN):
    """Runs protoc and returns {path relative to actserve/_generated: bytes} for every module,
    including the empty __init__.py of each package directory."""
    plugin = shutil.which(plugin) or plugin
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([protoc, f"--proto_path={proto_root}", f"--python_out={tmp}",
                        f"--grpc_python_out={tmp}", f"--plugin=protoc-gen-grpc_python={plugin}"]
                       + PROTOS, check=True, cwd=proto_root)
        files = {"__init__.py": b""}
        for dirpath, _, names in os.walk(tmp):
            rel_dir = os.path.relpath(dirpath, tmp)
            files[os.path.normpath(os.path.join(rel_dir, "__init__.py"))] = b""
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    text = f.read().decode()
                text = text.replace("\n" + IMPORT_FROM, "\n" + IMPORT_TO)
                files[os.path.normpath(os.path.join(rel_dir, name))] = text.encode()
    return files


def write_stubs(package_parent):
    """Writes the stubs into package_parent/actserve/_generated, replacing what was there."""
    gen = os.path.join(package_parent, "actserve", "_generated")
    shutil.rmtree(gen, ignore_errors=True)
    for rel, data in generated_files().items():
        path = os.path.join(gen, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def stage(out):
    """Copies the package's sources to out/actserve and generates its stubs there."""
    dst = os.path.join(out, "actserve")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(os.path.join(HERE, "actserve"), dst,
                    ignore=shutil.ignore_patterns("__pycache__", "_generated"))
    write_stubs(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="write the stubs into OUT/actserve/_generated")
    group.add_argument("--stage", help="copy the package to STAGE/actserve with its stubs")
    args = ap.parse_args()
    if args.out:
        write_stubs(args.out)
    else:
        stage(args.stage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
