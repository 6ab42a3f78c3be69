#!/usr/bin/python3
"""Scale-out on one machine: three real actserve replicas on loopback, behind a real nginx
(deploy/compose/nginx/actserve.conf, run as a normal process) and behind the client's own
round_robin balancing (grpcio, target ipv4:a,b,c). Checked, from each replica's own /metrics
where it is about shares:
  - each replica's share of calls is within 10% of even, through nginx and through round_robin;
  - kill -9 of a replica during a load loses at most the calls in flight (the client's
    concurrency), and none with a retry policy (UNAVAILABLE retried with back-off);
  - SIGTERM of a replica during a load loses none (it drains; its refusals carry a retry
    pushback past the lame duck, so that a retry through nginx, which keeps sending to the
    replica until its port closes, is not refused by it again), but through nginx at most one
    call that races the replica's GOAWAY (CANCELLED by gRPC's shutdown);
  - training jobs submitted through nginx with a job key can be watched, fetched and cancelled,
    and different keys spread over the replicas;
and the cost of the proxy hop is printed (req/s and p99 through nginx over direct round_robin,
same run, same client). Exit 77 (ctest: skipped) where nginx is not installed.

  python3 tests/scaleout_test.py --server build/server/actserve
"""
import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time

import deploy_testing as dt

RETRY = {"retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
                         "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}
CONCURRENCY = 4
KEY = "x-actserve-job-key"  # the nginx configuration hashes training calls on it
JOBS = 9  # submitted through nginx, one key each


def service_config(round_robin, retry):
    cfg = {}
    if round_robin:
        # With the health service watched, a draining replica (NOT_SERVING) leaves the rotation.
        cfg["loadBalancingConfig"] = [{"round_robin": {}}]
        cfg["healthCheckConfig"] = {"serviceName": ""}
    if retry:
        cfg["methodConfig"] = [{"name": [{"service": "actserve.v1.ActivationService"},
                                         {"service": "actserve.v1.TrainingService"}], **RETRY}]
    return json.dumps(cfg)


class Test:
    def __init__(self, server):
        self.work = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.work, "stubs"))
        dt.actserve_testing.generate_stubs(os.path.join(self.work, "stubs"))
        import grpc
        from proto.actserve.v1 import activation_service_pb2 as apb
        from proto.actserve.v1 import activation_service_pb2_grpc as apb_grpc
        from proto.actserve.v1 import training_service_pb2 as pb
        from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
        self.grpc, self.apb, self.apb_grpc, self.pb, self.pb_grpc = (
            grpc, apb, apb_grpc, pb, pb_grpc)
        # One compute thread each: three replicas share this machine's cores.
        self.replicas = [dt.Replica(server, "--compute_threads=1", "--kernel_threads=1",
                                    "--training_workers=1", "--drain_deadline=5s")
                         for _ in range(3)]
        self.nginx = dt.Nginx(os.path.join(self.work, "nginx"),
                              [r.address for r in self.replicas])
        self.x = apb.Tensor(shape=[64], dtype=apb.DTYPE_FLOAT32,
                            float_data=[0.1 * i for i in range(64)])
        self.passed, self.failed = 0, 0

    def check(self, name, ok, detail=""):
        print(("PASS " if ok else "FAIL ") + name + (f" ({detail})" if detail else ""),
              flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def channel(self, via, retry=False):
        """A channel through nginx (`via`="nginx") or straight to the replicas with round_robin."""
        if via == "nginx":
            target, rr = self.nginx.address, False
        else:
            target, rr = "ipv4:" + ",".join(r.address for r in self.replicas), True
        return self.grpc.insecure_channel(target, options=[
            ("grpc.service_config", service_config(rr, retry)), ("grpc.enable_retries", 1)])

    def forward_counts(self):
        return [r.metric("grpc_server_handled_total", grpc_method="Forward", grpc_code="OK")
                for r in self.replicas]

    def load(self, channel, seconds, during=None, at=None, calls=None):
        """CONCURRENCY threads calling Forward for `seconds` (or `calls` calls in all); `during`
        runs once after `at` seconds. Returns (ok, failures [codes], latencies [s], elapsed)."""
        stub = self.apb_grpc.ActivationServiceStub(channel)
        stub.Forward(self.apb.ForwardRequest(activation="relu", x=self.x), timeout=10)  # connect
        lock = threading.Lock()
        ok, failures, latencies = [0], [], []
        budget = [calls if calls is not None else 1 << 60]
        start = time.time()
        end = start + seconds

        def worker():
            local = []
            while time.time() < end:
                with lock:
                    if budget[0] == 0:
                        break
                    budget[0] -= 1
                t = time.perf_counter()
                try:
                    stub.Forward(self.apb.ForwardRequest(activation="tanh", x=self.x), timeout=10)
                    local.append(time.perf_counter() - t)
                except self.grpc.RpcError as e:
                    with lock:
                        failures.append(e.code().name)
            with lock:
                ok[0] += len(local)
                latencies.extend(local)

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
        for t in threads:
            t.start()
        if during is not None:
            time.sleep(at)
            during()
        for t in threads:
            t.join()
        return ok[0], failures, latencies, time.time() - start

    def balance(self, via):
        before = self.forward_counts()
        with self.channel(via) as ch:
            ok, failures, _, _ = self.load(ch, 60, calls=900)
        after = self.forward_counts()
        shares = [a - b for a, b in zip(after, before)]
        total = sum(shares)
        even = total / len(shares)
        self.check(f"{via}: each replica's share of {total:.0f} calls is within 10% of even",
                   not failures and all(abs(s - even) <= 0.1 * even for s in shares),
                   f"shares {[int(s) for s in shares]}, {len(failures)} failed")
        return shares

    def restart(self, i):
        r = self.replicas[i]
        r.proc.wait(timeout=30)
        r.start()

    def kill9(self, via, retry):
        r = self.replicas[0]
        with self.channel(via, retry) as ch:
            ok, failures, _, _ = self.load(ch, 3.0, during=lambda: r.signal(signal.SIGKILL),
                                           at=1.0)
        limit = 0 if retry else CONCURRENCY
        self.check(f"{via}{' with retries' if retry else ''}: kill -9 of a replica during a load "
                   f"loses at most {limit} calls", len(failures) <= limit and ok > 0,
                   f"{ok} ok, {len(failures)} lost {sorted(set(failures))}")
        self.restart(0)

    def sigterm(self, via, retry):
        r = self.replicas[1]
        with self.channel(via, retry) as ch:
            ok, failures, _, _ = self.load(ch, 3.0, during=lambda: r.signal(signal.SIGTERM),
                                           at=1.0)
        code = r.proc.wait(timeout=30)
        lost = {c: failures.count(c) for c in sorted(set(failures))}
        detail = f"{ok} ok, {len(failures)} lost {lost}, exit {code}"
        if retry and via == "nginx":
            # gRPC's Shutdown fails a call that reaches the replica in the instant between its
            # GOAWAY and nginx reading it (CANCELLED, relayed by nginx, retried by no client):
            # at most one, on the one connection that races.
            self.check(f"{via} with retries: SIGTERM of a replica during a load loses no call "
                       "but at most one CANCELLED at its GOAWAY, and it exits 0",
                       set(failures) <= {"CANCELLED"} and len(failures) <= 1 and ok > 0 and
                       code == 0, detail)
        elif retry:
            self.check(f"{via} with retries: SIGTERM of a replica during a load loses no call, "
                       "and it exits 0", not failures and ok > 0 and code == 0, detail)
        else:
            # Not a check: the server refuses new calls (UNAVAILABLE) from SIGTERM on, so a
            # client without a retry policy loses those that reach it before it leaves the
            # rotation (Kubernetes: the preStop pause takes it out of the endpoints first).
            print(f"INFO {via} without retries: SIGTERM of a replica during a load: {detail}")
        r.start()

    def jobs(self):
        """Jobs through nginx, each with its own key: watched, fetched, cancelled."""
        from google.protobuf import text_format
        with open(os.path.join(dt.ROOT, "client", "examples", "xor.textproto")) as f:
            base = text_format.Parse(f.read(), self.pb.JobSpec())
        base.epochs = 100000  # long enough to be cancelled while it runs
        before = [r.metric("actserve_training_jobs_submitted_total") for r in self.replicas]
        ok = True
        detail = []
        with self.channel("nginx") as ch:
            stub = self.pb_grpc.TrainingServiceStub(ch)
            for k in range(JOBS):
                key = (KEY, f"client-a/job-{k}")
                spec = self.pb.JobSpec()
                spec.CopyFrom(base)
                spec.name = f"scaleout-{k}"
                job = stub.SubmitJob(self.pb.SubmitJobRequest(spec=spec), metadata=[key],
                                     timeout=10)
                # Watched: progress reports arrive on the stream (from the replica that has it).
                watch = stub.WatchJob(self.pb.WatchJobRequest(id=job.id), metadata=[key],
                                      timeout=30)
                progress = 0
                for update in watch:
                    progress += update.HasField("progress")
                    if progress == 2:
                        break
                watch.cancel()
                got = stub.GetJob(self.pb.GetJobRequest(id=job.id), metadata=[key], timeout=10)
                cancelled = stub.CancelJob(self.pb.CancelJobRequest(id=job.id), metadata=[key],
                                           timeout=10)
                final = stub.GetJob(self.pb.GetJobRequest(id=job.id), metadata=[key], timeout=10)
                # A cancel that lands while the job evaluates ends it CANCELLED too.
                ended_cancelled = final.state == self.pb.JOB_STATE_CANCELLED
                if not ended_cancelled:
                    print(f"{job.id} ({spec.name}): cancelled, but ended in state "
                          f"{final.state}: {final.error.message}")
                this = (progress == 2 and got.name == spec.name and ended_cancelled and
                        cancelled.name == spec.name)
                ok &= this
                detail.append(f"{job.id}:{self.pb.JobState.Name(final.state)}")
            # Without a key, the client's address is the key: the same host finds its job.
            job = stub.SubmitJob(self.pb.SubmitJobRequest(spec=base), timeout=10)
            again = stub.CancelJob(self.pb.CancelJobRequest(id=job.id), timeout=10)
            nokey = again.name == base.name and again.state == self.pb.JOB_STATE_CANCELLED
        after = [r.metric("actserve_training_jobs_submitted_total") for r in self.replicas]
        spread = [int(a - b) for a, b in zip(after, before)]
        self.check(f"nginx: {JOBS} jobs submitted with their own keys are watched, fetched and "
                   "cancelled on the replica that has them", ok, " ".join(detail))
        # All on one replica by chance: about 3 * 3**-JOBS.
        self.check("nginx: job keys spread jobs over the replicas",
                   sum(spread) == JOBS + 1 and sum(1 for s in spread if s) >= 2,
                   f"submitted {spread}")
        self.check("nginx: without a key, a job is found again from the same client address",
                   nokey)

    def proxy_cost(self, rounds=5, seconds=2.0):
        """Same client, same load (CONCURRENCY threads of unary Forward calls of 64 floats):
        direct round_robin and nginx alternated `rounds` times; medians over the rounds."""
        results = {"direct": [], "nginx": []}
        for _ in range(rounds):
            for via in ("direct", "nginx"):
                with self.channel(via) as ch:
                    ok, failures, lat, elapsed = self.load(ch, seconds)
                lat.sort()
                results[via].append((ok / elapsed, lat[len(lat) // 2] * 1e3,
                                     lat[int(0.99 * (len(lat) - 1))] * 1e3))
        d = [statistics.median(x) for x in zip(*results["direct"])]
        n = [statistics.median(x) for x in zip(*results["nginx"])]
        ratios = [a[0] / b[0] for a, b in zip(results["nginx"], results["direct"])]
        print(f"proxy hop (medians of {rounds} alternated {seconds:.0f} s rounds): direct "
              f"round_robin {d[0]:.0f} req/s p50 {d[1]:.2f} ms p99 {d[2]:.2f} ms; through nginx "
              f"{n[0]:.0f} req/s p50 {n[1]:.2f} ms p99 {n[2]:.2f} ms; nginx/direct req/s "
              f"x{n[0] / d[0]:.2f} (rounds {min(ratios):.2f} to {max(ratios):.2f}), p50 "
              f"x{n[1] / d[1]:.2f}, p99 x{n[2] / d[2]:.2f} ({CONCURRENCY} Python grpcio client "
              f"threads, 3 replicas of one compute thread, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f})", flush=True)

    def run(self, only):
        steps = [("balance", lambda: (self.balance("nginx"), self.balance("round_robin"))),
                 ("kill", lambda: (self.kill9("nginx", False), self.kill9("round_robin", True),
                                   self.kill9("nginx", True))),
                 ("sigterm", lambda: (self.sigterm("nginx", True), self.sigterm("round_robin", True),
                                      self.sigterm("nginx", False),
                                      self.sigterm("round_robin", False))),
                 ("jobs", self.jobs),
                 ("cost", self.proxy_cost)]
        for name, step in steps:
            if not only or name in only:
                step()
                # nginx leaves a failed replica out for fail_timeout (5 s): let it come back.
                if name in ("kill", "sigterm"):
                    time.sleep(5.5)

    def stop(self):
        self.nginx.stop()
        for r in self.replicas:
            r.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--only", nargs="*", default=[])
    args = ap.parse_args()
    if not dt.nginx_available():
        dt.skip("nginx is not installed (Debian package nginx)")
    t = Test(os.path.abspath(args.server))
    try:
        t.run(args.only)
    finally:
        t.stop()
    print(f"{t.passed} passed, {t.failed} failed")
    sys.exit(1 if t.failed or not t.passed else 0)


if __name__ == "__main__":
    main()
