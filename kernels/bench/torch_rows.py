#!/usr/bin/python3
"""../shared/bench/torch_act.py with the last-axis functions it lacks: glu, log_softmax and softmin,
on rows of its SOFTMAX_DIM (1024) as its softmax and our kernels_bench take them. Everything else
(options, timing, the JSON lines) is torch_act.py's own; this only adds to its table of ops.

  /usr/bin/python3 kernels/bench/torch_rows.py --shared ../shared/bench [torch_act.py options]
"""
import os
import sys


def main():
    argv = sys.argv[1:]
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                          "bench")
    if "--shared" in argv:
        i = argv.index("--shared")
        shared = argv[i + 1]
        del argv[i:i + 2]
    sys.path.insert(0, os.path.abspath(shared))
    import torch_act  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    rows = torch_act.SOFTMAX_DIM
    table = torch_act.make_ops

    def make_ops():
        ops = table()
        ops.update({
            "glu": (lambda x, p: F.glu(x.view(-1, rows), dim=-1), None),
            "log_softmax": (lambda x, p: F.log_softmax(x.view(-1, rows), dim=-1), None),
            "softmin": (lambda x, p: F.softmin(x.view(-1, rows), dim=-1), None),
        })
        return ops

    torch_act.make_ops = make_ops
    sys.argv = [sys.argv[0]] + argv
    torch_act.main()


if __name__ == "__main__":
    main()
