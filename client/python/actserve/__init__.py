"""actserve: a Python client for the actserve activation-function service.

    import actserve, numpy as np
    client = actserve.Client()                      # $ACTSERVE_SERVER, else 127.0.0.1:50051
    y = client.forward("gelu", np.linspace(-3, 3, 7))
    dx, grads = client.backward("prelu", x, dy, a=0.1)

actserve.Client is the whole API (help(actserve.Client)); actserve.pb holds the protobuf
messages (JobSpec, Job, Progress, ...); actserve.torch.RemoteActivation is a PyTorch module whose
forward and backward run on the service. Every failure raises actserve.ActserveError.
"""
from actserve.catalog import Activation, Param
from actserve.client import (DEFAULT_TARGET, BackwardCall, Client, ForwardCall, JobWatch,
                             Prediction, default_target)
from actserve.errors import ActserveError
from actserve import pb

__all__ = ["Activation", "ActserveError", "BackwardCall", "Client", "DEFAULT_TARGET",
           "ForwardCall", "JobWatch", "Param", "Prediction", "default_target", "pb"]
