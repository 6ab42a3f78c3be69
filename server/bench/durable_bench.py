#!/usr/bin/python3
"""What durable training jobs cost (--state_dir), in one run on this machine:

1. Training speed: steps/s of the same CPU job (2-192-192-3, rrelu and prelu, Adam, L2,
   shuffling, batch 16) on a server without --state_dir, on one with it at the default
   checkpoint flags (every 500 steps, at most every 10 s), and on one checkpointing as often as
   it can (every 100 steps, no time limit) to show a checkpoint's own price. The servers run
   one after the other in each round, rounds alternate their order; steps/s comes from the
   server's own start and end times of the job; medians over rounds, ratios of the medians.
2. Resuming: a job is killed (SIGKILL) after its first checkpoint, the server is started again
   on the same directory; the time until it serves, until the job runs again and until it
   passes the step it was killed at; medians over the kills.

  /usr/bin/python3 server/bench/durable_bench.py [--build build] [--rounds 5] [--seconds 20]

Prints a markdown report; the state directories are made under $TMPDIR and removed.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import actserve_testing  # noqa: E402  (stubs and a server on free ports)
from actserve_testing import ServerProcess  # noqa: E402

CONFIGS = {
    "in memory (no --state_dir)": [],
    "--state_dir, default checkpoints": ["STATE"],
    "--state_dir, every 100 steps": ["STATE", "--checkpoint_steps=100",
                                     "--checkpoint_interval=0s"],
}


def log(msg):
    print(f"[durable_bench] {msg}", file=sys.stderr, flush=True)


def job_spec(pb, epochs):
    s = pb.JobSpec(name="bench", inputs=2, loss=pb.LOSS_SOFTMAX_CROSS_ENTROPY, epochs=epochs,
                   batch_size=16, shuffle=True, seed=7, report_every_steps=16,
                   validation_fraction=0.2)
    s.layers.add(units=192, activation="rrelu")
    s.layers.add(units=192, activation="prelu")
    s.layers.add(units=3, activation="identity")
    s.optimizer.kind = pb.Optimizer.KIND_ADAM
    s.optimizer.learning_rate = 0.003
    s.optimizer.l2 = 1e-4
    s.data.generated.name = "blobs"
    s.data.generated.rows = 4096
    s.data.generated.seed = 3
    s.data.generated.classes = 3
    return s


class Server:
    def __init__(self, binary, args):
        import grpc
        from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
        started = time.monotonic()
        self.process = ServerProcess(binary, "--training_workers=1", *args)
        self.start_seconds = time.monotonic() - started  # until "listening on"
        self.channel = grpc.insecure_channel(self.process.address)
        self.stub = pb_grpc.TrainingServiceStub(self.channel)

    def close(self, kill=False):
        self.channel.close()
        if kill:
            self.process.proc.send_signal(signal.SIGKILL)
            self.process.proc.wait(timeout=30)
        else:
            self.process.stop()


def wait_for(stub, pb, job_id, done, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = stub.GetJob(pb.GetJobRequest(id=job_id), timeout=10)
        if done(job):
            return job
        time.sleep(0.002)
    raise RuntimeError(f"{job_id} did not get there in {timeout} s")


def ended(pb):
    return lambda j: j.state in (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED,
                                 pb.JOB_STATE_CANCELLED)


def steps_per_second(binary, pb, args, epochs, state_root):
    state = tempfile.mkdtemp(dir=state_root)
    server = Server(binary, [a.replace("STATE", f"--state_dir={state}") for a in args])
    try:
        job_id = server.stub.SubmitJob(pb.SubmitJobRequest(spec=job_spec(pb, epochs)),
                                       timeout=30).id
        job = wait_for(server.stub, pb, job_id, ended(pb))
        if job.state != pb.JOB_STATE_SUCCEEDED:
            raise RuntimeError(f"the job ended {job.state}: {job.error.message}")
        seconds = (job.end_time.ToNanoseconds() - job.start_time.ToNanoseconds()) / 1e9
        return job.result.steps / seconds
    finally:
        server.close()
        shutil.rmtree(state, ignore_errors=True)


def resume_times(binary, pb, epochs, kills, state_root):
    """Per kill: (seconds until serving, until running again, until past the killed step,
    steps redone)."""
    state = tempfile.mkdtemp(dir=state_root)
    args = [f"--state_dir={state}"]
    rows = []
    server = Server(binary, args)
    job_id = server.stub.SubmitJob(pb.SubmitJobRequest(spec=job_spec(pb, epochs)), timeout=30).id
    checkpoints = os.path.join(state, "checkpoints")
    seen = set()
    try:
        for _ in range(kills):
            # After a new checkpoint, a few seconds into the next period: work is redone.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not set(os.listdir(checkpoints)) - seen:
                time.sleep(0.01)
            seen |= set(os.listdir(checkpoints))
            time.sleep(3)
            killed_at = server.stub.GetJob(pb.GetJobRequest(id=job_id)).last_progress.step
            server.close(kill=True)
            began = time.monotonic()
            server = Server(binary, args)
            job = wait_for(server.stub, pb, job_id,
                           lambda j: j.state == pb.JOB_STATE_RUNNING and j.resumed > len(rows))
            running = time.monotonic() - began
            from_step = job.last_progress.step
            wait_for(server.stub, pb, job_id, lambda j: j.last_progress.step >= killed_at)
            rows.append((server.start_seconds, running, time.monotonic() - began,
                         killed_at - from_step))
    finally:
        server.close()
        shutil.rmtree(state, ignore_errors=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20,
                    help="about how long each training run lasts")
    ap.add_argument("--kills", type=int, default=5)
    args = ap.parse_args()
    binary = os.path.join(os.path.abspath(args.build), "server", "actserve")
    stubs = tempfile.mkdtemp(prefix="durable_bench.")
    actserve_testing.generate_stubs(stubs)
    from proto.actserve.v1 import training_service_pb2 as pb
    state_root = tempfile.mkdtemp(prefix="durable_bench_state.")
    try:
        # Size the job to about --seconds on this machine.
        probe = steps_per_second(binary, pb, [], 2, state_root)
        steps_per_epoch = 4096 * 0.8 / 16
        epochs = max(2, round(args.seconds * probe / steps_per_epoch))
        log(f"probe {probe:.0f} steps/s: {epochs} epochs per run")
        runs = {name: [] for name in CONFIGS}
        for r in range(args.rounds):
            order = list(CONFIGS.items())
            if r % 2:
                order.reverse()
            for name, config in order:
                runs[name].append(steps_per_second(binary, pb, config, epochs, state_root))
            log(f"round {r + 1}: " + ", ".join(f"{runs[n][-1]:.0f}" for n in CONFIGS))
        kills = resume_times(binary, pb, epochs * 3, args.kills, state_root)
    finally:
        shutil.rmtree(stubs, ignore_errors=True)
        shutil.rmtree(state_root, ignore_errors=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "unknown CPU")
    base = statistics.median(runs[next(iter(CONFIGS))])
    lines = [f"CPU: {cpu}, {os.cpu_count()} cores. Job: 2-192-192-3 (rrelu, prelu), batch 16, "
             f"Adam, L2, shuffling, {epochs} epochs ({int(epochs * steps_per_epoch)} steps), "
             "1 training worker.", "",
             "| server | steps/s, median | rounds | over in memory |", "|---|---:|---|---:|"]
    for name in CONFIGS:
        med = statistics.median(runs[name])
        lines.append(f"| {name} | {med:.0f} | {' '.join(f'{v:.0f}' for v in runs[name])} | "
                     f"{med / base:.3f} |")
    med = lambda i: statistics.median(k[i] for k in kills)
    lines += ["", f"Resuming after kill -9 ({len(kills)} kills, 3 s after a checkpoint, "
              f"medians): serving again {med(0) * 1000:.0f} ms after the restart, the job "
              f"running again {med(1) * 1000:.0f} ms after it, past the step it was killed at "
              f"{med(2):.2f} s after it ({med(3):.0f} steps redone)."]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
