"""actserve: a Python client for the actserve activation-function service.

    import actserve, numpy as np
    client = actserve.Client()                      # $ACTSERVE_SERVER, else 127.0.0.1:50051
    y = client.forward("gelu", np.linspace(-3, 3, 7))
    dx, grads = client.backward("prelu", x, dy, a=0.1)

actserve.Client is the whole API (help(actserve.Client)); actserve.pb holds the protobuf
messages (JobSpec, Job, Progress, ...); actserve.torch.RemoteActivation is a PyTorch module whose
forward and backward run on the service. Every failure raises actserve.ActserveError.
"""
import importlib.util as _util

if _util.find_spec("actserve._generated") is None:
    raise ImportError(
        f"actserve at {__path__[0]} has no generated stubs: it is the source tree. Install the "
        "package (python3 -m pip install --no-build-isolation client/python) or build it "
        "(cmake --build build --target actserve_python) and put build/client/python/site on "
        "PYTHONPATH")

from actserve.catalog import Activation, Param  # noqa: E402
from actserve.client import (  # noqa: E402
    DEFAULT_TARGET, BackwardCall, Client, ForwardCall, JobWatch, Prediction, default_target)
from actserve.errors import ActserveError  # noqa: E402
from actserve import pb  # noqa: E402

__all__ = ["Activation", "ActserveError", "BackwardCall", "Client", "DEFAULT_TARGET",
           "ForwardCall", "JobWatch", "Param", "Prediction", "default_target", "pb"]
