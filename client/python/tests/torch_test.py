#!/usr/bin/python3
"""actserve.torch.RemoteActivation against the real server: gradcheck in float64 (parametric
and per-channel functions included), agreement with PyTorch's own modules, shapes and dtypes,
and a small MLP trained 50 steps that tracks the same model with PyTorch's activation.
Skipped (exit 77) where PyTorch is not installed.

  PYTHONPATH=build/client/python/site python3 client/python/tests/torch_test.py \
      --server build/server/actserve
"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

try:
    import torch
    from torch import nn
except ImportError as e:
    harness.skip_all(f"PyTorch is not installed ({e}); deploy/install-deps.sh installs "
                     f"python3-torch")

import grpc  # noqa: E402
import actserve  # noqa: E402
from actserve.torch import RemoteActivation  # noqa: E402

try:
    from torch.func import functional_call  # PyTorch >= 2.0
except ImportError:
    from torch.nn.utils.stateless import functional_call


class RemoteActivationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.ServerProcess(harness.server_binary())
        cls.client = actserve.Client(cls.server.address)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        assert harness.stop(cls.server) == 0

    def remote(self, name, **kwargs):
        return RemoteActivation(name, self.client, **kwargs)

    def gradcheck(self, module, x):
        """gradcheck in x and every learnable parameter of module."""
        names = [n for n, _ in module.named_parameters()]
        values = [p.detach().clone().requires_grad_() for _, p in module.named_parameters()]

        def f(x, *params):
            return functional_call(module, dict(zip(names, params)), (x,))
        self.assertTrue(torch.autograd.gradcheck(f, (x, *values), eps=1e-6, atol=1e-7,
                                                 rtol=1e-5))

    def test_gradcheck_in_float64(self):
        g = torch.Generator().manual_seed(5)
        x = torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
        cases = [("gelu", {}), ("tanh", {}), ("softmax", {}), ("glu", {}), ("maxout", {}),
                 ("mish", {}), ("softplus", {"beta": 2.0}), ("elu", {"a": 0.7}),
                 ("swish", {"b": 1.3}), ("prelu", {"channels": 3, "a": [0.1, 0.2, 0.3]}),
                 ("xwish", {"channels": 3})]
        for name, kwargs in cases:
            with self.subTest(name=name):
                m = self.remote(name, **kwargs).double()
                self.assertEqual(len(list(m.parameters())),
                                 len(self.client.activation(name).learnable))
                self.gradcheck(m, x)

    def test_learnable_parameters_are_per_channel_nn_parameters(self):
        m = self.remote("prelu", channels=4)
        self.assertIsInstance(m.a, nn.Parameter)
        self.assertEqual(tuple(m.a.shape), (4,))
        torch.testing.assert_close(m.a.detach(), torch.full((4,), 0.25))
        self.assertEqual(list(self.remote("swish").state_dict()), ["b"])
        self.assertEqual(list(self.remote("gelu").parameters()), [])
        self.assertEqual(self.remote("leaky_relu", a=0.3)._call.fixed, {"a": 0.3})

    def test_matches_pytorch_modules(self):
        g = torch.Generator().manual_seed(9)
        for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-12)):
            x = torch.randn(5, 4, 3, generator=g, dtype=dtype)
            pairs = [(self.remote("gelu"), nn.GELU()), (self.remote("silu"), nn.SiLU()),
                     (self.remote("softmax"), nn.Softmax(dim=-1)),
                     (self.remote("elu", a=0.5), nn.ELU(alpha=0.5)),
                     (self.remote("prelu", channels=4, a=[0.1, 0.2, 0.3, 0.4]),
                      nn.PReLU(4, init=0.1))]
            with torch.no_grad():
                pairs[-1][1].weight.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
            for remote, local in pairs:
                with self.subTest(remote=remote.name, dtype=str(dtype)):
                    remote, local = remote.to(dtype), local.to(dtype)
                    xa = x.clone().requires_grad_()
                    xb = x.clone().requires_grad_()
                    ya, yb = remote(xa), local(xb)
                    self.assertEqual(ya.dtype, dtype)
                    torch.testing.assert_close(ya, yb, rtol=tol, atol=tol)
                    dy = torch.cos(torch.arange(ya.numel(), dtype=dtype)).reshape(ya.shape)
                    ya.backward(dy)
                    yb.backward(dy)
                    torch.testing.assert_close(xa.grad, xb.grad, rtol=tol, atol=tol)
                    for pa, pb in zip(remote.parameters(), local.parameters()):
                        torch.testing.assert_close(pa.grad, pb.grad, rtol=tol * 10,
                                                   atol=tol * 10)

    def test_copies_and_pickles_keep_working(self):
        import copy
        import io
        m = self.remote("prelu", channels=2, a=[0.1, 0.2])
        x = torch.tensor([[-1.0, -2.0]])
        twin = copy.deepcopy(m)
        self.assertIs(twin.client, m.client)
        buf = io.BytesIO()
        torch.save(m, buf)
        buf.seek(0)
        loaded = torch.load(buf)
        self.assertEqual(loaded.client.target, self.server.address)
        for other in (twin, loaded):
            torch.testing.assert_close(other(x), m(x))
            torch.testing.assert_close(other.a, m.a)

    def test_any_shape_and_stride(self):
        m = self.remote("tanh")
        base = torch.randn(3, 4, 5, 6, dtype=torch.float64)
        for what, x in {"0-D": torch.tensor(0.5, dtype=torch.float64),
                        "empty": torch.zeros(0, 3, dtype=torch.float64),
                        "4-D": base, "transposed": base.transpose(1, 3),
                        "sliced": base[:, ::2, 1:],
                        "expanded": torch.randn(1, 5, dtype=torch.float64).expand(4, 5)}.items():
            with self.subTest(what=what):
                xr = x.detach().requires_grad_()
                y = m(xr)
                self.assertEqual(y.shape, x.shape)
                torch.testing.assert_close(y, torch.tanh(x), rtol=1e-14, atol=1e-14)
                y.sum().backward()  # an expanded (stride 0) upstream gradient
                torch.testing.assert_close(xr.grad, 1 - torch.tanh(x) ** 2, rtol=1e-14,
                                           atol=1e-14)

    def test_stochastic_noise_is_reproducible_and_shared_with_backward(self):
        m = self.remote("rrelu").double().train()
        x = torch.linspace(-3, 3, 40, dtype=torch.float64, requires_grad=True)
        torch.manual_seed(1)
        y1 = m(x)
        torch.manual_seed(1)
        y2 = m(x)
        torch.testing.assert_close(y1, y2, rtol=0, atol=0)
        self.assertFalse(torch.equal(y1, m(x)))  # a new draw
        y1.sum().backward()
        neg = x.detach() < 0
        torch.testing.assert_close(x.grad[neg], (y1.detach() / x.detach())[neg])
        m.eval()
        torch.testing.assert_close(m(x.detach()), nn.RReLU().double().eval()(x.detach()))

    def test_bad_input_is_refused_clearly(self):
        m = self.remote("relu")
        with self.assertRaises(actserve.ActserveError) as e:
            m(torch.ones(3, dtype=torch.float16))
        self.assertIn("float32 or float64", e.exception.message)
        with self.assertRaises(actserve.ActserveError) as e:
            self.remote("prelu", channels=3)(torch.ones(2, 4))
        self.assertEqual(e.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.exception.field, "params")
        with self.assertRaises(actserve.ActserveError) as e:
            self.remote("bogus")
        self.assertEqual(e.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_without_a_client_the_server_comes_from_the_environment(self):
        import actserve.torch as at
        old, at._default_client = at._default_client, None
        os.environ["ACTSERVE_SERVER"] = self.server.address
        try:
            m = RemoteActivation("relu")
            self.assertEqual(m.client.target, self.server.address)
            self.assertEqual(m(torch.tensor([-1.0, 2.0])).tolist(), [0.0, 2.0])
        finally:
            del os.environ["ACTSERVE_SERVER"]
            at._default_client = old

    def test_the_example_trains_a_classifier(self):
        example = os.path.join(harness.ROOT, "client", "python", "examples",
                               "train_remote_activation.py")
        for activation in ("prelu", "swish"):
            with self.subTest(activation=activation):
                out = subprocess.run([sys.executable, example, "--target", self.server.address,
                                      "--activation", activation, "--steps", "60"],
                                     capture_output=True, text=True, timeout=240)
                self.assertEqual(out.returncode, 0, out.stderr)
                accuracy = float(re.search(r"training accuracy (\S+)", out.stdout).group(1))
                self.assertGreater(accuracy, 0.9, out.stdout)

    def train(self, activation, steps=50):
        """A 2-16-16-1 MLP trained with SGD on a fixed regression task; returns the losses and
        the final parameters. The weights start the same for every activation."""
        torch.manual_seed(0)
        first, second = nn.Linear(2, 16), nn.Linear(16, 16)
        last = nn.Linear(16, 1)
        model = nn.Sequential(first, activation[0], second, activation[1], last).double()
        g = torch.Generator().manual_seed(1)
        x = torch.randn(64, 2, generator=g, dtype=torch.float64)
        t = torch.sin(2 * x[:, :1]) + 0.5 * x[:, 1:]
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(x) - t) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().clone() for p in model.parameters()]

    def test_mlp_training_tracks_pytorch_for_50_steps(self):
        cases = {
            "gelu": ((self.remote("gelu"), self.remote("gelu")), (nn.GELU(), nn.GELU())),
            "tanh": ((self.remote("tanh"), self.remote("tanh")), (nn.Tanh(), nn.Tanh())),
            "prelu per channel": ((self.remote("prelu", channels=16),
                                   self.remote("prelu", channels=16)),
                                  (nn.PReLU(16), nn.PReLU(16))),
        }
        for what, (remote, local) in cases.items():
            with self.subTest(what=what):
                remote_losses, remote_params = self.train(remote)
                local_losses, local_params = self.train(local)
                self.assertLess(local_losses[-1], 0.2 * local_losses[0])  # it learns
                for step, (a, b) in enumerate(zip(remote_losses, local_losses)):
                    self.assertLessEqual(abs(a - b), 1e-6 * abs(b), f"step {step}")
                self.assertEqual(len(remote_params), len(local_params))
                for a, b in zip(remote_params, local_params):
                    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


if __name__ == "__main__":
    harness.main()
