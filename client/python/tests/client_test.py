#!/usr/bin/python3
"""actserve.Client against the real server: every method, dtype and shape round trips, bad
input, deadlines, and a server that is down. References are NumPy formulas and the package's
own generated stub called directly (for "the server's message, unchanged").

  PYTHONPATH=build/client/python/site python3 client/python/tests/client_test.py \
      --server build/server/actserve
"""
import math
import os
import socket
import sys
import tempfile
import unittest

import grpc
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import actserve_testing  # noqa: E402

import actserve  # noqa: E402
from actserve import pb  # noqa: E402
from actserve._generated.proto.actserve.v1 import activation_service_pb2_grpc  # noqa: E402

EXAMPLES = os.path.join(harness.ROOT, "client", "examples")
GELU = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))


def xor_spec(epochs=5, **extra):
    spec = {"name": "xor", "layers": [{"units": 8, "activation": "tanh"},
                                      {"units": 2, "activation": "identity"}],
            "loss": "LOSS_SOFTMAX_CROSS_ENTROPY",
            "optimizer": {"kind": "KIND_SGD", "learningRate": 0.1},
            "batchSize": 16, "epochs": epochs, "seed": 3,
            "data": {"generated": {"name": "xor", "rows": 64, "seed": 1}}}
    spec.update(extra)
    return spec


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.ServerProcess(harness.server_binary())
        cls.client = actserve.Client(cls.server.address)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        assert harness.stop(cls.server) == 0

    def assert_refused(self, code, fn, *args, **kwargs) -> actserve.ActserveError:
        with self.assertRaises(actserve.ActserveError) as e:
            fn(*args, **kwargs)
        self.assertEqual(e.exception.code, code, e.exception.message)
        return e.exception

    # ---- catalog and health ----

    def test_activations_list_the_catalog_with_metadata(self):
        acts = self.client.activations()
        size = len(actserve_testing.catalog_names())
        self.assertEqual(len(acts), size)
        self.assertEqual(len({a.name for a in acts}), size)
        swish = next(a for a in acts if a.name == "swish")
        self.assertEqual(swish.learnable, ["b"])
        self.assertEqual(swish.layout, "elementwise")
        softmax = self.client.activation("softmax")
        self.assertEqual(softmax.layout, "last_axis")
        self.assertEqual(self.client.activation("logistic").name, "sigmoid")
        self.assertEqual(self.client.activation("rrelu").noise, "uniform_when_training")
        relu = self.client.activation("relu")
        self.assertTrue(relu.properties["sparse"])
        self.assertEqual(relu.properties["cost"], "select")
        self.assertTrue(relu.formula)
        err = self.assert_refused(grpc.StatusCode.NOT_FOUND, self.client.activation, "bogus")
        self.assertEqual(err.field, "activation")

    def test_health_is_serving(self):
        self.assertEqual(self.client.health(), "SERVING")
        self.assertEqual(self.client.health("actserve.v1.ActivationService"), "SERVING")

    # ---- forward and backward ----

    def test_forward_matches_numpy_formulas(self):
        x = np.linspace(-4, 4, 33)
        np.testing.assert_allclose(self.client.forward("gelu", x), GELU(x), rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(self.client.forward("sigmoid", x), 1 / (1 + np.exp(-x)),
                                   rtol=1e-12)
        np.testing.assert_allclose(self.client.forward("leaky_relu", x, a=0.2),
                                   np.where(x > 0, x, 0.2 * x), rtol=1e-15)
        # A parameter named by a Python keyword goes in the params dict.
        np.testing.assert_allclose(
            self.client.forward("selu", x, params={"lambda": 2.0, "a": 1.5}),
            2.0 * np.where(x > 0, x, 1.5 * np.expm1(x)), rtol=1e-12)
        rows = np.arange(12.0).reshape(3, 4) / 7
        e = np.exp(rows - rows.max(axis=-1, keepdims=True))
        np.testing.assert_allclose(self.client.forward("softmax", rows),
                                   e / e.sum(axis=-1, keepdims=True), rtol=1e-12)

    def test_dtype_and_shape_round_trip(self):
        rng = np.random.default_rng(7)
        base = rng.standard_normal((2, 3, 4, 5))
        cases = {  # what: dtype -> array
            "0-D": lambda t: np.array(1.5, t),
            "python float": lambda t: -2.0 if t == np.float64 else np.float32(-2.0),
            "empty": lambda t: np.zeros((0, 3), t),
            "empty 4-D": lambda t: np.zeros((2, 0, 4, 5), t),
            "1-D": lambda t: base.ravel()[:7].astype(t),
            "4-D": lambda t: base.astype(t),
            "transposed": lambda t: base.astype(t).transpose(3, 1, 0, 2),
            "strided and reversed": lambda t: base.astype(t)[:, ::2, ::-1, 1:4],
            "broadcast (stride 0)": lambda t: np.broadcast_to(base[0, 0, 0].astype(t), (3, 5)),
            "big-endian": lambda t: base.astype(np.dtype(t).newbyteorder(">")),
            "fortran order": lambda t: np.asfortranarray(base[0].astype(t)),
        }
        for dtype in (np.float32, np.float64):
            for what, make in cases.items():
                with self.subTest(what=what, dtype=np.dtype(dtype).name):
                    x = make(dtype)
                    y = self.client.forward("relu", x)
                    self.assertEqual(y.dtype, np.dtype(dtype))
                    self.assertEqual(y.shape, np.shape(x))
                    self.assertTrue(y.flags.writeable and y.flags.c_contiguous)
                    np.testing.assert_array_equal(y, np.maximum(x, 0))
                    dx, grads = self.client.backward("tanh", x, np.ones_like(x))
                    self.assertEqual((dx.dtype, dx.shape), (np.dtype(dtype), np.shape(x)))
                    self.assertEqual(grads, {})
                    tol = 1e-6 if dtype == np.float32 else 1e-14
                    np.testing.assert_allclose(dx, 1 - np.tanh(np.float64(x)) ** 2,
                                               rtol=tol, atol=tol)

    def test_tensor_codec_reads_packed_and_unpacked_fields(self):
        from actserve.tensor import decode_tensor, encode_tensor
        x = np.arange(6.0).reshape(2, 3)
        self.assertEqual(pb.Tensor.FromString(encode_tensor("x", x)),
                         pb.Tensor(shape=[2, 3], dtype=pb.DTYPE_FLOAT64, double_data=x.ravel()))
        # shape 2, 3 and two doubles, each field unpacked (what a proto2 writer may send).
        unpacked = (b"\x08\x02\x08\x01\x10\x02" + b"\x21" + np.float64(1.5).tobytes()
                    + b"\x21" + np.float64(-2.0).tobytes())
        y = decode_tensor(unpacked)
        np.testing.assert_array_equal(y, [[1.5], [-2.0]])
        self.assertEqual(y.shape, (2, 1))

    def test_backward_gives_per_channel_parameter_gradients(self):
        rng = np.random.default_rng(3)
        x = rng.standard_normal((4, 3, 5))
        dy = rng.standard_normal((4, 3, 5))
        a = np.array([0.1, 0.2, 0.3])
        dx, grads = self.client.backward("prelu", x, dy, a=a)
        slope = np.where(x > 0, 1.0, a[None, :, None])
        np.testing.assert_allclose(dx, dy * slope, rtol=1e-15)
        self.assertEqual(set(grads), {"a"})
        np.testing.assert_allclose(grads["a"], (dy * np.minimum(x, 0)).sum(axis=(0, 2)),
                                   rtol=1e-12)
        # One shared value: one gradient, summed over every element.
        _, grads = self.client.backward("prelu", x, dy, a=0.25)
        np.testing.assert_allclose(grads["a"], [(dy * np.minimum(x, 0)).sum()], rtol=1e-12)

    def test_backward_matches_central_differences(self):
        x = np.linspace(-3, 3, 13)
        dy = np.cos(np.arange(13.0))
        for name, params in [("gelu", {}), ("swish", {"b": 1.7}), ("softplus", {"beta": 2.0})]:
            with self.subTest(name=name):
                dx, _ = self.client.backward(name, x, dy, **params)
                h = 1e-6
                num = (self.client.forward(name, x + h, **params)
                       - self.client.forward(name, x - h, **params)) / (2 * h)
                np.testing.assert_allclose(dx, dy * num, rtol=1e-6, atol=1e-8)

    def test_backward_from_the_output_for_the_softmax_family(self):
        """from_output=True sends y = softmax(x) in x's place; dx equals the backward from x,
        in a unary call and in the evaluate stream, and the catalog lists who takes it."""
        rng = np.random.default_rng(5)
        x = 3 * rng.standard_normal((4, 6))
        dy = rng.standard_normal((4, 6))
        takes = sorted(a.name for a in self.client.activations() if a.backward_from_output)
        self.assertEqual(takes, ["log_softmax", "sigmoid", "softmax", "softmin", "tanh"])
        for name in takes:
            with self.subTest(name=name):
                y = self.client.forward(name, x)
                want, _ = self.client.backward(name, x, dy)
                got, _ = self.client.backward(name, y, dy, from_output=True)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
                (streamed, _), = self.client.evaluate(
                    [actserve.BackwardCall(name, y, dy, from_output=True)])
                np.testing.assert_allclose(streamed, want, rtol=1e-12, atol=1e-15)
        with self.assertRaises(actserve.ActserveError) as e:
            self.client.backward("relu", x, dy, from_output=True)
        self.assertEqual(e.exception.code, grpc.StatusCode.INVALID_ARGUMENT)

    def test_stochastic_functions_repeat_with_the_same_seed(self):
        x = np.linspace(-2, 2, 50)
        a = self.client.forward("rrelu", x, seed=11, training=True)
        b = self.client.forward("rrelu", x, seed=11, training=True)
        c = self.client.forward("rrelu", x, seed=12, training=True)
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))
        dx, _ = self.client.backward("rrelu", x, np.ones_like(x), seed=11, training=True)
        neg = x < 0
        np.testing.assert_allclose(dx[neg], a[neg] / x[neg], rtol=1e-12)

    def test_evaluate_answers_in_order(self):
        x = np.linspace(-1, 1, 5)

        def calls():  # a generator: sent while answers are read
            for i in range(20):
                if i % 2:
                    yield actserve.BackwardCall("prelu", x, np.ones_like(x), a=0.5)
                else:
                    yield actserve.ForwardCall("leaky_relu", x * i, a=0.1)
        results = list(self.client.evaluate(calls()))
        self.assertEqual(len(results), 20)
        for i, r in enumerate(results):
            if i % 2:
                dx, grads = r
                np.testing.assert_array_equal(dx, np.where(x > 0, 1.0, 0.5))
                self.assertEqual(list(grads), ["a"])
            else:
                np.testing.assert_allclose(r, np.where(x > 0, x * i, 0.1 * x * i))
        # float32 stays float32 in the stream too.
        (y,) = self.client.evaluate([actserve.ForwardCall("tanh", x.astype(np.float32))])
        self.assertEqual(y.dtype, np.float32)

    def test_evaluate_refusals_raise_or_come_back_in_place(self):
        calls = [actserve.ForwardCall("relu", [1.0]), actserve.ForwardCall("glu", [1.0, 2, 3]),
                 actserve.ForwardCall("relu", [-1.0])]
        out = list(self.client.evaluate(calls, return_errors=True))
        np.testing.assert_array_equal(out[0], [1.0])
        self.assertIsInstance(out[1], actserve.ActserveError)
        self.assertEqual(out[1].code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("glu needs the last axis even", out[1].message)
        np.testing.assert_array_equal(out[2], [0.0])
        got = []
        with self.assertRaises(actserve.ActserveError) as e:
            for r in self.client.evaluate(calls):
                got.append(r)
        self.assertEqual(len(got), 1)
        self.assertEqual(e.exception.field, "shape")
        # A call the client itself refuses ends the stream after the calls before it.
        got = []
        with self.assertRaises(actserve.ActserveError) as e:
            for r in self.client.evaluate([actserve.ForwardCall("relu", [2.0]),
                                           actserve.ForwardCall("relu", [1, 2])]):
                got.append(r)
        self.assertEqual(len(got), 1)
        self.assertEqual(e.exception.field, "x")
        with self.assertRaises(actserve.ActserveError) as e:
            list(self.client.evaluate(["relu"]))
        self.assertIn("expected a ForwardCall or a BackwardCall", e.exception.message)

    # ---- bad input ----

    def test_non_float_arrays_are_refused_naming_the_argument(self):
        for bad in (np.arange(3), [1, 2, 3], np.array([True]), np.ones(2, np.float16),
                    np.ones(2, np.complex128)):
            with self.subTest(dtype=np.asarray(bad).dtype.name):
                err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT,
                                          self.client.forward, "relu", bad)
                self.assertEqual(err.field, "x")
                self.assertIn("float32 or float64", err.message)
        err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.backward,
                                  "relu", np.ones(3), np.ones(3, np.int32))
        self.assertEqual(err.field, "dy")
        err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.predict,
                                  "job-1", np.ones((1, 2), np.int64))
        self.assertEqual(err.field, "features")
        err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.forward,
                                  "relu", [1.0], backend="tpu")
        self.assertEqual(err.field, "backend")

    def test_server_refusals_surface_unchanged(self):
        raw = activation_service_pb2_grpc.ActivationServiceStub(
            grpc.insecure_channel(self.server.address))
        cases = [
            (dict(activation="glu", x=np.ones((2, 3))), "shape"),
            (dict(activation="bogus", x=np.ones(2)), "activation"),
            (dict(activation="prelu", x=np.ones((2, 3)), params={"a": [0.1, 0.2]}), "params"),
            (dict(activation="elu", x=np.ones(2), params={"zz": 1.0}), "params"),
        ]
        for kwargs, field in cases:
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT,
                                          self.client.forward, **kwargs)
                req = pb.ForwardRequest(activation=kwargs["activation"],
                                        x=pb.Tensor(shape=kwargs["x"].shape,
                                                    dtype=pb.DTYPE_FLOAT64,
                                                    double_data=kwargs["x"].ravel()))
                for name, v in kwargs.get("params", {}).items():
                    req.params.add(name=name, values=np.ravel(v))
                with self.assertRaises(grpc.RpcError) as raw_err:
                    raw.Forward(req, timeout=10)
                self.assertEqual(err.message, raw_err.exception.details())
                self.assertEqual(err.field, field)
        err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.backward,
                                  "relu", np.ones(3), np.ones(4))
        self.assertIn("dy must have the output's shape", err.message)

    def test_a_server_that_is_down_is_one_clear_error(self):
        target = f"127.0.0.1:{free_port()}"
        with actserve.Client(target) as down:
            for call in (lambda: down.forward("relu", [1.0]), down.activations,
                         lambda: list(down.evaluate([actserve.ForwardCall("relu", [1.0])])),
                         lambda: list(down.watch("job-1")), down.jobs):
                err = self.assert_refused(grpc.StatusCode.UNAVAILABLE, call)
                self.assertIn(f"cannot reach an actserve server at {target}", err.message)
                self.assertIsNone(err.field)
                self.assertIsNone(err.__cause__)
                self.assertTrue(err.__suppress_context__)

    def test_deadlines_raise_deadline_exceeded(self):
        x = np.ones(1 << 22)
        self.assert_refused(grpc.StatusCode.DEADLINE_EXCEEDED, self.client.forward, "gelu", x,
                            timeout=1e-4)
        with actserve.Client(self.server.address, timeout=1e-4) as hurried:
            self.assert_refused(grpc.StatusCode.DEADLINE_EXCEEDED, hurried.forward, "gelu", x)
            # A call's own timeout overrides the client's.
            self.assertEqual(hurried.forward("relu", [1.0], timeout=10), [1.0])

    def test_a_token_travels_as_metadata(self):
        # The server checks no credentials yet: the call succeeds with the token attached.
        with actserve.Client(self.server.address, token="secret") as c:
            self.assertEqual(c.forward("relu", [3.0]), [3.0])

    # ---- training ----

    def test_submit_watch_get_predict_and_delete(self):
        job = self.client.submit(xor_spec(epochs=4))
        self.assertEqual(job.state, pb.JOB_STATE_QUEUED)
        watch = self.client.watch(job)
        reports = list(watch)
        self.assertEqual([r.epoch for r in reports if r.epoch_end], [1, 2, 3, 4])
        self.assertTrue(all(isinstance(r, pb.Progress) for r in reports))
        self.assertEqual(watch.job.state, pb.JOB_STATE_SUCCEEDED)
        self.assertEqual(len(list(self.client.watch(job.id, from_report=2))), len(reports) - 2)
        got = self.client.get(job, include_weights=True)
        self.assertEqual(got.result.epochs, 4)
        self.assertEqual(len(got.weights), 2)
        self.assertIn(job.id, [j.id for j in self.client.jobs()])
        features = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]], np.float32)
        pred = self.client.predict(job, features)
        self.assertEqual(pred.outputs.shape, (3, 2))
        self.assertEqual(pred.outputs.dtype, np.float32)
        np.testing.assert_array_equal(pred.classes, pred.outputs.argmax(axis=1))
        # The same network given in full predicts the same.
        spec = got.spec
        net = pb.Network(inputs=2, layers=spec.layers, weights=got.weights, loss=spec.loss)
        np.testing.assert_array_equal(self.client.predict(net, features).outputs, pred.outputs)
        self.client.delete(job)
        err = self.assert_refused(grpc.StatusCode.NOT_FOUND, self.client.get, job)
        self.assertEqual(err.field, "id")

    def test_specs_come_from_files_dicts_and_messages(self):
        for path in ("xor.textproto", "moons.json"):
            with self.subTest(path=path):
                spec = actserve.Client.job_spec(os.path.join(EXAMPLES, path))
                self.assertGreater(len(spec.layers), 1)
                spec.epochs = 1
                job = self.client.wait(self.client.submit(spec))
                self.assertEqual(job.state, pb.JOB_STATE_SUCCEEDED, job.error.message)
        with tempfile.NamedTemporaryFile("w", suffix=".textproto") as f:
            f.write("layers { units: 2 activation: 'relu' ")
            f.flush()
            err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.submit,
                                      f.name)
            self.assertEqual(err.field, "spec")
        err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.submit,
                                  {"layerz": []})
        self.assertEqual(err.field, "spec")
        err = self.assert_refused(grpc.StatusCode.INVALID_ARGUMENT, self.client.submit,
                                  xor_spec(layers=[]))
        self.assertIsNotNone(err.field)

    def test_cancel_stops_a_running_job(self):
        job = self.client.submit(xor_spec(epochs=100000))
        cancelled = self.client.cancel(job)
        self.assertEqual(cancelled.state, pb.JOB_STATE_CANCELLED)
        self.assertEqual(self.client.wait(job).state, pb.JOB_STATE_CANCELLED)
        self.assert_refused(grpc.StatusCode.FAILED_PRECONDITION, self.client.cancel, job)
        self.client.delete(job.id)

    def test_sweep_trains_one_job_per_activation(self):
        sweep = self.client.sweep(xor_spec(epochs=2), ["relu", ("prelu", {"a": 0.1}), "tanh"])
        self.assertEqual([a.activation for a in sweep.activations], ["relu", "prelu", "tanh"])
        self.assertEqual(len(sweep.jobs), 3)
        for j in sweep.jobs:
            self.assertEqual(self.client.wait(j).state, pb.JOB_STATE_SUCCEEDED)
        again = self.client.get_sweep(sweep)
        self.assertEqual([j.id for j in again.jobs], [j.id for j in sweep.jobs])
        self.assertTrue(all(j.state == pb.JOB_STATE_SUCCEEDED for j in again.jobs))
        self.assert_refused(grpc.StatusCode.NOT_FOUND, self.client.get_sweep, "sweep-nope")

    def test_help_reads_like_a_manual(self):
        for name in ("forward", "backward", "evaluate", "submit", "watch", "get", "cancel",
                     "delete", "predict", "sweep", "activations"):
            doc = getattr(actserve.Client, name).__doc__
            self.assertTrue(doc and len(doc.split()) > 10, name)


if __name__ == "__main__":
    harness.main()
