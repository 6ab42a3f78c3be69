#!/usr/bin/python3
"""The cost per call of actserve.Client over a raw grpcio call, in one run.

  PYTHONPATH=build/client/python/site /usr/bin/python3 client/python/bench/client_overhead.py \
      --server build/server/actserve [--rounds 15] [--calls 200]

Three ways of computing relu on a float32 vector of n elements, one call at a time, against the
same server: (raw) the generated stub's Forward with a request built once beforehand, the floor
a client can reach; (raw+numpy) the stub with a request built from the ndarray by
`float_data.extend(x)` and the result read back by `numpy.array(y.float_data)`, what a user
without the package writes; (client) `Client.forward("relu", x)`, ndarray in and out. The
three are measured in interleaved rounds; the table gives the median time per call over rounds
and the client's ratio to each. A second table times the two ends' own work without the
network: the client's (check and encode the array, build and serialise the request, decode a
stored answer) against raw's (serialise the prebuilt request, parse the stored answer). Timing
is noisy on a shared machine: read the ratios.
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import grpc
import numpy as np

import actserve
from actserve import pb
from actserve.tensor import decode_tensor, encode_tensor, to_tensor, wire_fields
from actserve._generated.proto.actserve.v1 import activation_service_pb2_grpc as pb_grpc


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            return f"{m.group(1)} ({os.cpu_count()} CPUs)" if m else platform.processor()
    except OSError:
        return platform.processor()


def start_server(binary):
    p = subprocess.Popen([binary, "--address=127.0.0.1:0", "--metrics_address="],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m = re.search(r"listening on (\S+)", p.stdout.readline())
    if not m:
        raise RuntimeError("actserve did not start: " + p.stderr.read())
    return p, m.group(1)


def per_call(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", help="actserve binary to start on 127.0.0.1")
    ap.add_argument("--target", help="or: an actserve already serving at host:port")
    ap.add_argument("--sizes", default="1,1024,65536")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=200, help="calls per round at the smallest size")
    args = ap.parse_args()
    if not args.server and not args.target:
        ap.error("give --server or --target")
    proc, target = start_server(args.server) if args.server else (None, args.target)
    try:
        channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1),
                                                         ("grpc.max_send_message_length", -1)])
        stub = pb_grpc.ActivationServiceStub(channel)
        client = actserve.Client(target)
        print(f"CPU: {cpu_model()}; Python {platform.python_version()}, grpcio "
              f"{grpc.__version__}, numpy {np.__version__}; server {target}")
        print("| n (float32) | raw (us) | raw+numpy (us) | client (us) | client / raw | "
              "client / raw+numpy |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n in (int(s) for s in args.sizes.split(",")):
            x = np.linspace(-1, 1, n, dtype=np.float32)
            prebuilt = pb.ForwardRequest(activation="relu", x=pb.Tensor(
                shape=[n], dtype=pb.DTYPE_FLOAT32, float_data=x.tolist()))

            def raw():
                stub.Forward(prebuilt, timeout=30)

            def raw_numpy():
                t = pb.Tensor(shape=x.shape, dtype=pb.DTYPE_FLOAT32)
                t.float_data.extend(x)
                y = stub.Forward(pb.ForwardRequest(activation="relu", x=t), timeout=30).y
                np.array(y.float_data, dtype=np.float32).reshape(tuple(y.shape))

            def client_call():
                client.forward("relu", x)
            ways = {"raw": raw, "raw+numpy": raw_numpy, "client": client_call}
            want = np.maximum(x, 0)
            assert np.array_equal(client.forward("relu", x), want)
            calls = max(5, args.calls * 1024 // max(1024, n))
            for fn in ways.values():  # warm-up
                per_call(fn, max(1, calls // 10))
            times = {k: [] for k in ways}
            for _ in range(args.rounds):
                for k, fn in ways.items():
                    times[k].append(per_call(fn, calls))
            med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
            print(f"| {n} | {med['raw']:.1f} | {med['raw+numpy']:.1f} | {med['client']:.1f} | "
                  f"{med['client'] / med['raw']:.2f} | {med['client'] / med['raw+numpy']:.2f} |")
        print()
        print("| n (float32) | client work (us) | raw work (us) | difference (us) |")
        print("|---:|---:|---:|---:|")
        for n in (int(s) for s in args.sizes.split(",")):
            x = np.linspace(-1, 1, n, dtype=np.float32)
            answer = pb.ForwardResponse(y=to_tensor("y", x)).SerializeToString()
            prebuilt = pb.ForwardRequest(activation="relu", x=to_tensor("x", x))

            def client_work():
                req = pb.ForwardRequest(activation="relu")
                req.x.MergeFromString(encode_tensor("x", x))
                req.SerializeToString()
                decode_tensor([v for number, _, v in wire_fields(answer) if number == 1][-1])

            def raw_work():
                prebuilt.SerializeToString()
                pb.ForwardResponse.FromString(answer)
            calls = max(5, 20 * args.calls * 1024 // max(1024, n))
            work = {k: statistics.median(per_call(fn, calls) for _ in range(args.rounds)) * 1e6
                    for k, fn in (("client", client_work), ("raw", raw_work))}
            print(f"| {n} | {work['client']:.1f} | {work['raw']:.1f} | "
                  f"{work['client'] - work['raw']:.1f} |")
        client.close()
        channel.close()
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
