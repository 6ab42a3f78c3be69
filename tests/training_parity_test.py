#!/usr/bin/python3
"""Parity of actserve's training with PyTorch (Debian's python3-torch): from the same explicit
initial weights, without shuffling, the loss after each of 100 steps must match PyTorch's within
1e-4 relative in float32 (1e-10 in float64), for several activations, every loss, and every
optimizer, over gRPC to the real server.

  /usr/bin/python3 tests/training_parity_test.py --server build/server/actserve
"""
import os
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import actserve_testing  # noqa: E402
from actserve_testing import ServerProcess  # noqa: E402

ROWS, FEATURES, BATCH, EPOCHS = 64, 4, 16, 25  # 4 steps an epoch: 100 steps


class ParityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        import numpy as np
        import torch
        from proto.actserve.v1 import activation_service_pb2 as apb
        from proto.actserve.v1 import training_service_pb2 as pb
        from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
        cls.np, cls.torch, cls.apb, cls.pb = np, torch, apb, pb
        torch.set_num_threads(1)
        cls.server = ServerProcess(actserve_testing.server_binary())
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.stub = pb_grpc.TrainingServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0

    def tensor(self, array, fp64):
        apb = self.apb
        t = apb.Tensor(shape=list(array.shape),
                       dtype=apb.DTYPE_FLOAT64 if fp64 else apb.DTYPE_FLOAT32)
        (t.double_data if fp64 else t.float_data).extend(array.reshape(-1).tolist())
        return t

    def run_case(self, hidden, activation, loss, optimizer, fp64=False, l2=0.0, param=None):
        np, torch, pb = self.np, self.torch, self.pb
        F = torch.nn.functional
        dtype = np.float64 if fp64 else np.float32
        # A fixed seed per case (str hashes vary between runs).
        rng = np.random.default_rng(zlib.crc32(f"{hidden}{activation}{loss}{optimizer}".encode()))
        x = rng.normal(size=(ROWS, FEATURES)).astype(dtype)
        outputs = 1 if loss == "sigmoid_ce" else 3
        if loss == "softmax_ce":
            y = rng.integers(0, outputs, size=ROWS).astype(dtype)
        elif loss == "sigmoid_ce":
            y = rng.integers(0, 2, size=(ROWS, 1)).astype(dtype)
        else:
            y = rng.normal(size=(ROWS, outputs)).astype(dtype)
        sizes = [FEATURES] + hidden + [outputs]
        weights = [(rng.uniform(-1, 1, size=(sizes[i + 1], sizes[i])) / np.sqrt(sizes[i]))
                   .astype(dtype) for i in range(len(sizes) - 1)]
        biases = [rng.uniform(-0.1, 0.1, size=sizes[i + 1]).astype(dtype)
                  for i in range(len(sizes) - 1)]

        # --- actserve ---
        spec = pb.JobSpec(name=f"parity-{activation}-{loss}-{optimizer}", batch_size=BATCH,
                          epochs=EPOCHS, shuffle=False, report_every_steps=1,
                          dtype=self.apb.DTYPE_FLOAT64 if fp64 else self.apb.DTYPE_FLOAT32)
        for units in hidden:
            # PyTorch's activations other than PReLU have no trained parameters.
            layer = spec.layers.add(units=units, activation=activation,
                                    freeze_params=activation != "prelu")
            if param is not None:
                layer.params.add(name=param[0], values=[param[1]])
        spec.layers.add(units=outputs, activation="identity")
        spec.loss = {"mse": pb.LOSS_MEAN_SQUARED_ERROR, "softmax_ce": pb.LOSS_SOFTMAX_CROSS_ENTROPY,
                     "sigmoid_ce": pb.LOSS_SIGMOID_CROSS_ENTROPY}[loss]
        kinds = {"sgd": pb.Optimizer.KIND_SGD, "momentum": pb.Optimizer.KIND_MOMENTUM,
                 "nesterov": pb.Optimizer.KIND_NESTEROV, "adam": pb.Optimizer.KIND_ADAM}
        lr = 0.01 if optimizer == "adam" else 0.1
        spec.optimizer.kind = kinds[optimizer]
        spec.optimizer.learning_rate = lr
        spec.optimizer.l2 = l2
        spec.init.kind = pb.Initialization.KIND_EXPLICIT
        for w, b in zip(weights, biases):
            spec.init.weights.add(weights=self.tensor(w, fp64), bias=self.tensor(b, fp64))
        spec.data.inline.features.CopyFrom(self.tensor(x, fp64))
        spec.data.inline.targets.CopyFrom(self.tensor(y, fp64))
        job = self.stub.SubmitJob(pb.SubmitJobRequest(spec=spec))
        ours = [u.progress.train_loss for u in self.stub.WatchJob(pb.WatchJobRequest(id=job.id))
                if u.HasField("progress")]
        self.assertEqual(self.stub.GetJob(pb.GetJobRequest(id=job.id)).state,
                         pb.JOB_STATE_SUCCEEDED)

        # --- PyTorch ---
        tdtype = torch.float64 if fp64 else torch.float32
        linears = []
        for w, b in zip(weights, biases):
            lin = torch.nn.Linear(w.shape[1], w.shape[0]).to(tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            linears.append(lin)
        acts = {"tanh": torch.tanh, "relu": F.relu, "sigmoid": torch.sigmoid, "elu": F.elu,
                "gelu": F.gelu, "softplus": F.softplus, "silu": F.silu}
        prelu = None
        if activation == "prelu":
            prelu = [torch.nn.PReLU(1, init=param[1]).to(tdtype) for _ in hidden]
        params_w = [lin.weight for lin in linears]
        params_rest = [lin.bias for lin in linears] + [p.weight for p in (prelu or [])]
        groups = [{"params": params_w, "weight_decay": l2}, {"params": params_rest, "weight_decay": 0}]
        opt = {"sgd": lambda: torch.optim.SGD(groups, lr=lr),
               "momentum": lambda: torch.optim.SGD(groups, lr=lr, momentum=0.9),
               "nesterov": lambda: torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True),
               "adam": lambda: torch.optim.Adam(groups, lr=lr)}[optimizer]()
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        theirs = []
        for _ in range(EPOCHS):
            for i in range(0, ROWS, BATCH):
                h = xt[i:i + BATCH]
                for k, lin in enumerate(linears):
                    h = lin(h)
                    if k < len(hidden):
                        h = prelu[k](h) if prelu else acts[activation](h)
                target = yt[i:i + BATCH]
                if loss == "mse":
                    value = F.mse_loss(h, target)
                elif loss == "softmax_ce":
                    value = F.cross_entropy(h, target.long())
                else:
                    value = F.binary_cross_entropy_with_logits(h, target)
                opt.zero_grad()
                value.backward()
                opt.step()
                theirs.append(value.item())

        self.assertEqual(len(ours), len(theirs))
        tolerance = 1e-10 if fp64 else 1e-4
        worst = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(ours, theirs))
        print(f"{spec.name}{' fp64' if fp64 else ''}: {len(ours)} steps, worst relative "
              f"difference {worst:.2e} (loss {theirs[0]:.4f} -> {theirs[-1]:.4f})", flush=True)
        for step, (a, b) in enumerate(zip(ours, theirs)):
            self.assertLessEqual(abs(a - b), tolerance * max(abs(b), 1e-6),
                                 f"step {step + 1}: actserve {a!r}, PyTorch {b!r}")
        # The run must have learned something (last epoch against first), or the comparison
        # proves little.
        steps = ROWS // BATCH
        self.assertLess(sum(theirs[-steps:]), sum(theirs[:steps]))

    def test_tanh_mse_sgd(self):
        self.run_case([8], "tanh", "mse", "sgd")

    def test_relu_softmax_cross_entropy_sgd(self):
        self.run_case([16, 16], "relu", "softmax_ce", "sgd")

    def test_sigmoid_binary_cross_entropy_sgd(self):
        self.run_case([8], "sigmoid", "sigmoid_ce", "sgd")

    def test_elu_momentum_with_l2(self):
        self.run_case([12], "elu", "softmax_ce", "momentum", l2=0.01)

    def test_gelu_nesterov(self):
        self.run_case([12], "gelu", "mse", "nesterov")

    def test_softplus_adam(self):
        self.run_case([12, 8], "softplus", "softmax_ce", "adam")

    def test_learnable_prelu_sgd(self):
        self.run_case([12], "prelu", "softmax_ce", "sgd", param=("a", 0.25))

    def test_tanh_softmax_cross_entropy_adam_fp64(self):
        self.run_case([8, 8], "tanh", "softmax_ce", "adam", fp64=True)

    def test_relu_mse_sgd_fp64(self):
        self.run_case([16], "relu", "mse", "sgd", fp64=True)


if __name__ == "__main__":
    actserve_testing.main(requires=("numpy", "torch"))
