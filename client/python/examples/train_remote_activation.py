#!/usr/bin/python3
"""Trains a small PyTorch classifier on two interleaved half-moons whose hidden activations are
computed by an actserve server: forward and backward of each activation are calls to the
service, and the per-channel PReLU slopes are learned from the gradients it returns.

  build/server/actserve &                      # or any server: --target / $ACTSERVE_SERVER
  python3 client/python/examples/train_remote_activation.py [--activation swish] [--steps 200]
"""
import argparse
import math

import torch
from torch import nn

import actserve
from actserve.torch import RemoteActivation


def moons(n, generator):
    """Two interleaved half circles with noise: features [n, 2], labels [n]."""
    t = torch.rand(n, generator=generator) * math.pi
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    features = torch.stack([x, y], dim=1) + 0.1 * torch.randn(n, 2, generator=generator)
    return features, (~upper).long()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default=None, help="host:port (default $ACTSERVE_SERVER, "
                    "else 127.0.0.1:50051)")
    ap.add_argument("--activation", default="prelu", help="any catalog name (default prelu)")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()

    client = actserve.Client(args.target)
    info = client.activation(args.activation)
    print(f"{info.name}: f(x) = {info.formula}; learnable: {info.learnable or 'none'}")
    torch.manual_seed(0)
    h = args.hidden
    model = nn.Sequential(nn.Linear(2, h), RemoteActivation(args.activation, client, channels=h),
                          nn.Linear(h, h), RemoteActivation(args.activation, client, channels=h),
                          nn.Linear(h, 2))
    g = torch.Generator().manual_seed(1)
    x, labels = moons(512, g)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for step in range(1, args.steps + 1):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        if step == 1 or step % max(1, args.steps // 10) == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == labels).double().mean().item()
    print(f"final: loss {loss.item():.4f}, training accuracy {accuracy:.3f}")
    for name, p in model.named_parameters():
        if not name.endswith(("weight", "bias")):
            print(f"learned {name}: {p.detach().numpy().round(3)}")
    client.close()


if __name__ == "__main__":
    main()
