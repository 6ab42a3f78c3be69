#!/usr/bin/python3
"""Interop test: a second, independent client (Python grpcio, stubs generated from the same
.proto) against the real actserve binary on 127.0.0.1. References are plain math, and PyTorch's
where it is installed.

  python3 tests/python_interop_test.py --server build/server/actserve
"""
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import actserve_testing  # noqa: E402
from actserve_testing import ServerProcess  # noqa: E402


class InteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        from proto.actserve.v1 import activation_service_pb2 as pb
        from proto.actserve.v1 import activation_service_pb2_grpc as pb_grpc
        from proto.grpc.health.v1 import health_pb2, health_pb2_grpc
        cls.grpc, cls.pb, cls.health_pb2 = grpc, pb, health_pb2
        cls.server = ServerProcess(actserve_testing.server_binary())
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.stub = pb_grpc.ActivationServiceStub(cls.channel)
        cls.health = health_pb2_grpc.HealthStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0

    def tensor(self, shape, values, dtype=None):
        pb = self.pb
        t = pb.Tensor(shape=shape, dtype=dtype or pb.DTYPE_FLOAT64)
        (t.double_data if t.dtype == pb.DTYPE_FLOAT64 else t.float_data).extend(values)
        return t

    def test_lists_the_catalog(self):
        resp = self.stub.ListActivations(self.pb.ListActivationsRequest(), timeout=10)
        names = [a.name for a in resp.activations]
        self.assertEqual(len(names), len(actserve_testing.catalog_names()))
        self.assertIn("gelu", names)
        swish = next(a for a in resp.activations if a.name == "swish")
        self.assertTrue(swish.params[0].learnable)

    def test_forward_matches_math(self):
        xs = [-4 + 0.25 * i for i in range(33)]
        refs = {
            "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
            "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
            "softplus": lambda x: math.log1p(math.exp(x)),
            "tanh": math.tanh,
            "selu": lambda x: 1.0507009873554804934 * (x if x > 0 else
                                                      1.6732632423543772848 * math.expm1(x)),
        }
        for name, f in refs.items():
            resp = self.stub.Forward(self.pb.ForwardRequest(activation=name,
                                                            x=self.tensor([len(xs)], xs)))
            self.assertEqual(list(resp.y.shape), [len(xs)])
            for x, y in zip(xs, resp.y.double_data):
                self.assertAlmostEqual(y, f(x), delta=1e-12 * (1 + abs(f(x))), msg=f"{name}({x})")

    def test_forward_and_backward_match_pytorch(self):
        try:
            import torch
        except ImportError:
            self.skipTest("PyTorch is not installed")
        x = torch.linspace(-3, 3, 24, dtype=torch.float64).reshape(2, 3, 4).requires_grad_()
        w = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
        y = torch.nn.functional.prelu(x, w)
        dy = torch.cos(torch.arange(24, dtype=torch.float64)).reshape(2, 3, 4)
        y.backward(dy)
        pb = self.pb
        req = pb.BackwardRequest(activation="prelu", x=self.tensor([2, 3, 4], x.detach().flatten().tolist()),
                                 dy=self.tensor([2, 3, 4], dy.flatten().tolist()),
                                 params=[pb.Parameter(name="a", values=[0.1, 0.2, 0.3])])
        resp = self.stub.Backward(req)
        for got, want in zip(resp.dx.double_data, x.grad.flatten().tolist()):
            self.assertAlmostEqual(got, want, delta=1e-12)
        self.assertEqual(resp.param_gradients[0].name, "a")
        for got, want in zip(resp.param_gradients[0].values, w.grad.tolist()):
            self.assertAlmostEqual(got, want, delta=1e-12)
        # float32 softmax along the last axis
        xs = torch.randn(5, 7, generator=torch.Generator().manual_seed(1))
        resp = self.stub.Forward(pb.ForwardRequest(
            activation="softmax", x=self.tensor([5, 7], xs.flatten().tolist(), pb.DTYPE_FLOAT32)))
        want = torch.softmax(xs, dim=-1).flatten().tolist()
        for got, w_ in zip(resp.y.float_data, want):
            self.assertAlmostEqual(got, w_, delta=1e-6)

    def test_backward_from_the_output_matches_pytorch(self):
        """The softmax family's backward given y (as PyTorch's autograd keeps it) equals PyTorch's
        gradient; the catalog says which functions take it, and the others refuse it."""
        try:
            import torch
        except ImportError:
            self.skipTest("PyTorch is not installed")
        pb = self.pb
        catalog = self.stub.ListActivations(pb.ListActivationsRequest(), timeout=10).activations
        takes = {a.name for a in catalog if a.backward_from_output}
        self.assertEqual(takes, {"softmax", "softmin", "log_softmax", "sigmoid", "tanh"})
        fns = {"softmax": lambda t: torch.softmax(t, -1),
               "softmin": lambda t: torch.nn.functional.softmin(t, -1),
               "log_softmax": lambda t: torch.log_softmax(t, -1), "sigmoid": torch.sigmoid,
               "tanh": torch.tanh}
        gen = torch.Generator().manual_seed(3)
        for name in sorted(takes):
            x = (4 * torch.randn(3, 9, generator=gen, dtype=torch.float64)).requires_grad_()
            y = fns[name](x)
            dy = torch.randn(3, 9, generator=gen, dtype=torch.float64)
            y.backward(dy)
            resp = self.stub.Backward(pb.BackwardRequest(
                activation=name, x=self.tensor([3, 9], y.detach().flatten().tolist()),
                dy=self.tensor([3, 9], dy.flatten().tolist()), from_output=True))
            self.assertEqual(list(resp.dx.shape), [3, 9])
            for got, want in zip(resp.dx.double_data, x.grad.flatten().tolist()):
                self.assertAlmostEqual(got, want, delta=1e-12 * (1 + abs(want)), msg=name)
        with self.assertRaises(self.grpc.RpcError) as e:
            self.stub.Backward(pb.BackwardRequest(activation="relu", x=self.tensor([2], [1, 2]),
                                                  dy=self.tensor([2], [1, 1]), from_output=True))
        self.assertEqual(e.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("from_output: relu has no backward from its output", e.exception.details())

    def test_stream_answers_in_order(self):
        pb = self.pb
        reqs = [pb.EvaluateRequest(id=i, forward=pb.ForwardRequest(
            activation="relu" if i != 3 else "bogus", x=self.tensor([2], [-1.0, float(i)])))
            for i in range(10)]
        out = list(self.stub.Evaluate(iter(reqs), timeout=30))
        self.assertEqual([r.id for r in out], list(range(10)))
        self.assertEqual(out[3].WhichOneof("result"), "error")
        self.assertEqual(out[3].error.code, self.grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertEqual(list(out[5].forward.y.double_data), [0.0, 5.0])

    def test_garbage_midway_ends_the_stream_with_invalid_argument(self):
        pb = self.pb
        good = pb.EvaluateRequest(id=1, forward=pb.ForwardRequest(
            activation="relu", x=self.tensor([1], [2.0]))).SerializeToString()
        raw = self.channel.stream_stream("/actserve.v1.ActivationService/Evaluate",
                                         request_serializer=None, response_deserializer=None)
        responses = raw(iter([good, b"\xff\xff\xff\xff\x0fgarbage"]), timeout=30)
        first = pb.EvaluateResponse.FromString(next(responses))
        self.assertEqual(list(first.forward.y.double_data), [2.0])
        with self.assertRaises(self.grpc.RpcError) as e:
            next(responses)
        self.assertEqual(e.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("message 2 of the stream", e.exception.details())
        # The server goes on serving.
        self.stub.ListActivations(pb.ListActivationsRequest(), timeout=10)

    def test_bad_input_status(self):
        pb = self.pb
        with self.assertRaises(self.grpc.RpcError) as e:
            self.stub.Forward(pb.ForwardRequest(activation="relu", x=pb.Tensor(shape=[3], dtype=pb.DTYPE_FLOAT32,
                                                                                 float_data=[1, 2])))
        self.assertEqual(e.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("x.float_data has 2 elements but x.shape [3] needs 3", e.exception.details())

    def test_health(self):
        resp = self.health.Check(self.health_pb2.HealthCheckRequest(service="actserve.v1.ActivationService"))
        self.assertEqual(resp.status, self.health_pb2.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    actserve_testing.main()
