"""actserve.torch: activation functions computed by an actserve server inside PyTorch models.

    import actserve.torch
    model = torch.nn.Sequential(torch.nn.Linear(4, 16),
                                actserve.torch.RemoteActivation("prelu", channels=16),
                                torch.nn.Linear(16, 1))

Forward and backward of RemoteActivation are each one call to the server (an
autograd.Function); learnable catalog parameters (prelu's a, elu's a, swish's b, ...) are
nn.Parameters whose gradients the server computes. Tensors of any shape on any device (they
travel through host memory), float32 or float64. Double backward is not supported.
"""
import threading
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from actserve.client import Client

_default_client: Optional[Client] = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The shared Client of modules made without one: $ACTSERVE_SERVER, else 127.0.0.1:50051."""
    global _default_client
    with _default_lock:
        if _default_client is None:
            _default_client = Client()
        return _default_client


class _Call:
    """What a RemoteActivation passes to its autograd.Function besides tensors."""

    def __init__(self, client: Client, name: str, fixed: Dict[str, object],
                 learnable: Sequence[str], stochastic: bool):
        self.client, self.name, self.fixed = client, name, fixed
        self.learnable, self.stochastic = list(learnable), stochastic

    def params(self, values) -> Dict[str, object]:
        params = dict(self.fixed)
        for name, value in zip(self.learnable, values):
            params[name] = value.detach().cpu().to(torch.float64).numpy().ravel()
        return params


def _numpy(t: torch.Tensor) -> np.ndarray:
    # The client sends any strides as they are; resolve_conj/neg make the view a plain one.
    return t.detach().cpu().resolve_conj().resolve_neg().numpy()


class _RemoteFunction(torch.autograd.Function):
    """y = f(x; params) with f and its gradients computed by the server."""

    @staticmethod
    def forward(ctx, x, call: _Call, seed: int, training: bool, *learnables):
        params = call.params(learnables)
        y = call.client.forward(call.name, _numpy(x), params=params, seed=seed,
                                training=training)
        ctx.call, ctx.seed, ctx.training = call, seed, training
        ctx.save_for_backward(x, *learnables)
        return torch.from_numpy(y).to(x.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        x, *learnables = ctx.saved_tensors
        call = ctx.call
        dx, grads = call.client.backward(call.name, _numpy(x), _numpy(dy.to(x.dtype)),
                                         params=call.params(learnables), seed=ctx.seed,
                                         training=ctx.training)
        out = [torch.from_numpy(dx).to(x.device), None, None, None]
        for name, p in zip(call.learnable, learnables):
            g = torch.from_numpy(grads[name]).to(dtype=p.dtype, device=p.device)
            out.append(g.reshape(p.shape))
        return tuple(out)


class RemoteActivation(nn.Module):
    """An activation function from the actserve catalog, computed by the server.

    RemoteActivation(name, client=None, channels=1, seed=None, **params)

    name: a catalog name or alias ("gelu", "prelu", "swish", "softmax", ...).
    client: an actserve.Client; None: a shared one for $ACTSERVE_SERVER, else
      127.0.0.1:50051.
    channels: how many values each learnable parameter has: 1 (shared) or C, one per channel
      along axis 1 of the input (as torch.nn.PReLU's num_parameters).
    params: initial values of learnable parameters (a number, or `channels` of them) and
      fixed values of the others; learnable ones not given start at the catalog default.
      Learnable parameters are nn.Parameters named after the catalog (module.a, module.b),
      in the module's dtype (float32; .double() makes them float64).
    seed: for stochastic functions (rrelu in training mode, noisy_relu), each forward draws
      its noise seed from torch's generator (torch.manual_seed reproduces it) unless a fixed
      seed is given; backward reuses the forward's seed. rrelu draws random slopes only in
      training mode (module.train()), as torch.nn.RReLU.

    Input: a float32 or float64 tensor of any shape; output of the same dtype (and shape,
    except along the last axis for maxout and glu).
    """

    def __init__(self, name: str, client: Optional[Client] = None, *, channels: int = 1,
                 seed: Optional[int] = None, **params: Union[float, Sequence[float]]):
        super().__init__()
        self._client = client or default_client()
        info = self._client.activation(name)
        self.name = info.name
        self.seed = seed
        learnable = info.learnable
        fixed = {k: v for k, v in params.items() if k not in learnable}
        for p in info.params:
            if not p.learnable:
                continue
            value = params.get(p.name, p.default)
            values = torch.as_tensor(value, dtype=torch.get_default_dtype()).flatten()
            if values.numel() == 1 and channels > 1:
                values = values.repeat(channels)
            self.register_parameter(p.name, nn.Parameter(values.clone()))
        self._call = _Call(self._client, self.name, fixed, learnable, info.noise != "none")

    @property
    def client(self) -> Client:
        """The client this module calls."""
        return self._client

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) on the server; differentiable in x and the learnable parameters."""
        seed = self.seed
        if seed is None:
            seed = int(torch.randint(0, 2**62, ())) if self._call.stochastic else 0
        learnables = [getattr(self, n) for n in self._call.learnable]
        return _RemoteFunction.apply(x, self._call, seed, self.training, *learnables)

    def extra_repr(self) -> str:
        parts = [repr(self.name)] + [f"{k}={v}" for k, v in self._call.fixed.items()]
        return ", ".join(parts + [f"target={self._client.target!r}"])
