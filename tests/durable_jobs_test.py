#!/usr/bin/python3
"""Durable training jobs (--state_dir), over gRPC to the real server and its real files:

- kill -9 at random moments (at least 20 times over one job's life, some of them while a
  checkpoint is being written), a restart each time: the job ends with weights, result and
  progress history bit-identical to an uninterrupted run without a state directory (shuffling,
  rrelu's training noise, Adam, L2, a learnable prelu);
- queued jobs come back in order; finished jobs answer GetJob and Predict the same; deleted ids
  stay unknown; retention removes the files;
- a damaged checkpoint or database row fails only its job (DATA_LOSS, with the reason); a
  database SQLite cannot read is set aside and the server starts;
- a full disk (a file-size limit, prlimit --fsize) refuses the submit it hit with
  RESOURCE_EXHAUSTED, fails no job and leaves the server serving;
- a second server on the same directory, and a directory that cannot be created, are refused
  at start with a clear message.

  /usr/bin/python3 tests/durable_jobs_test.py --server build/server/actserve
"""
import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import actserve_testing  # noqa: E402
from actserve_testing import ServerProcess  # noqa: E402

KILLS = 20


class Durable:
    """A server on a state directory that can be killed and started again."""

    def __init__(self, state_dir, *args):
        self.state_dir, self.args, self.server = state_dir, args, None

    def start(self):
        import grpc
        from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
        self.server = ServerProcess(actserve_testing.server_binary(),
                                    f"--state_dir={self.state_dir}", "--training_workers=1",
                                    *self.args)
        self.channel = grpc.insecure_channel(self.server.address)
        self.stub = pb_grpc.TrainingServiceStub(self.channel)
        return self

    def kill(self):
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=30)
        self.channel.close()
        return self.server.proc.stderr.read()

    def stop(self):
        self.channel.close()
        rc = self.server.stop()
        return rc, self.server.proc.stderr.read()

    def metrics(self):
        return urllib.request.urlopen(f"http://{self.server.metrics_address}/metrics",
                                      timeout=10).read().decode()


def spec(pb, name, epochs=30, rows=1024, units=96):
    s = pb.JobSpec(name=name, inputs=2, loss=pb.LOSS_SOFTMAX_CROSS_ENTROPY, epochs=epochs,
                   batch_size=16, shuffle=True, seed=7, report_every_steps=10,
                   validation_fraction=0.2)
    s.layers.add(units=units, activation="rrelu")
    s.layers.add(units=units, activation="prelu")
    s.layers.add(units=3, activation="identity")
    s.optimizer.kind = pb.Optimizer.KIND_ADAM
    s.optimizer.learning_rate = 0.003
    s.optimizer.l2 = 1e-4
    s.data.generated.name = "blobs"
    s.data.generated.rows = rows
    s.data.generated.seed = 3
    s.data.generated.classes = 3
    return s


def history(stub, pb, job_id):
    """Every report and the final job, from a WatchJob of an ended job."""
    reports, final = [], None
    for update in stub.WatchJob(pb.WatchJobRequest(id=job_id), timeout=120):
        if update.HasField("progress"):
            reports.append(update.progress)
        else:
            final = update.job
    return reports, final


def without_times(message):
    """A copy without what wall clocks decide."""
    m = type(message)()
    m.CopyFrom(message)
    for field in ("elapsed_seconds", "create_time", "start_time", "end_time", "id", "resumed",
                  "memory_bytes"):
        if field in m.DESCRIPTOR.fields_by_name:
            m.ClearField(field)
    if "last_progress" in m.DESCRIPTOR.fields_by_name:
        m.last_progress.ClearField("elapsed_seconds")
    return m


class DurableJobsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        from proto.actserve.v1 import training_service_pb2 as pb
        cls.grpc, cls.pb = grpc, pb
        cls.tmp = tempfile.mkdtemp(prefix="durable_jobs_test.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def state(self, name):
        return os.path.join(self.tmp, name)

    def wait_ended(self, stub, job_id, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = stub.GetJob(self.pb.GetJobRequest(id=job_id), timeout=10)
            if job.state in (self.pb.JOB_STATE_SUCCEEDED, self.pb.JOB_STATE_FAILED,
                             self.pb.JOB_STATE_CANCELLED):
                return job
            time.sleep(0.05)
        self.fail(f"{job_id} did not end")

    def test_kill_9_twenty_times_ends_bit_identical(self):
        pb = self.pb
        job_spec = spec(pb, "crash", epochs=60, rows=4096, units=192)
        # The reference: the same job, uninterrupted, on a server without a state directory.
        ref = ServerProcess(actserve_testing.server_binary(), "--training_workers=1")
        channel = self.grpc.insecure_channel(ref.address)
        from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
        stub = pb_grpc.TrainingServiceStub(channel)
        started = time.time()
        ref_id = stub.SubmitJob(pb.SubmitJobRequest(spec=job_spec), timeout=30).id
        ref_job = self.wait_ended(stub, ref_id)
        ref_seconds = time.time() - started
        ref_reports, _ = history(stub, pb, ref_id)
        ref_weights = stub.GetJob(pb.GetJobRequest(id=ref_id, include_weights=True)).weights
        channel.close()
        self.assertEqual(ref.stop(), 0)
        self.assertEqual(ref_job.state, pb.JOB_STATE_SUCCEEDED)

        durable = Durable(self.state("crash"), "--checkpoint_steps=100",
                          "--checkpoint_interval=0s").start()
        job_id = durable.stub.SubmitJob(pb.SubmitJobRequest(spec=job_spec), timeout=30).id
        rng = random.Random(1)
        kills = during_write = 0
        checkpoints = os.path.join(self.state("crash"), "checkpoints")
        while kills < KILLS:
            if kills % 2 == 0:
                # While a checkpoint is being written: its temporary file exists.
                deadline = time.time() + ref_seconds
                while time.time() < deadline and not glob.glob(f"{checkpoints}/*.tmp"):
                    time.sleep(0.0005)
                during_write += bool(glob.glob(f"{checkpoints}/*.tmp"))
            else:
                time.sleep(rng.uniform(0.02, max(0.05, ref_seconds / KILLS)))
            durable.kill()
            kills += 1
            durable.start()
            state = durable.stub.GetJob(pb.GetJobRequest(id=job_id), timeout=10).state
            if state != pb.JOB_STATE_RUNNING and state != pb.JOB_STATE_QUEUED:
                break
        job = self.wait_ended(durable.stub, job_id)
        reports, _ = history(durable.stub, pb, job_id)
        weights = durable.stub.GetJob(pb.GetJobRequest(id=job_id, include_weights=True)).weights
        metrics = durable.metrics()
        rc, _ = durable.stop()
        print(f"{kills} kills ({during_write} while a checkpoint was being written), resumed "
              f"{job.resumed} times; reference run {ref_seconds:.1f} s")
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(kills, KILLS, "the job ended before it was killed 20 times")
        self.assertGreaterEqual(during_write, KILLS // 4)
        self.assertEqual(job.state, pb.JOB_STATE_SUCCEEDED, job.error)
        self.assertGreaterEqual(job.resumed, 1)
        self.assertRegex(metrics, r"actserve_training_jobs_resumed_total \d")
        self.assertEqual(without_times(job.result), without_times(ref_job.result))
        self.assertEqual(len(reports), len(ref_reports))
        for got, want in zip(reports, ref_reports):
            self.assertEqual(without_times(got), without_times(want))
        self.assertEqual(list(weights), list(ref_weights))  # bit for bit

    def test_queued_order_finished_jobs_and_deleted_ids_survive(self):
        pb = self.pb
        durable = Durable(self.state("queue"), "--max_retained_jobs=3").start()
        stub = durable.stub
        first = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "quick", epochs=2, rows=128,
                                                             units=8)), timeout=30).id
        self.wait_ended(stub, first)
        from proto.actserve.v1 import activation_service_pb2 as apb
        features = apb.Tensor(shape=[2, 2], dtype=apb.DTYPE_FLOAT32, float_data=[0.5, -1, 2, 0.25])
        predicted = stub.Predict(pb.PredictRequest(job_id=first, features=features), timeout=30)
        before = stub.GetJob(pb.GetJobRequest(id=first, include_weights=True))
        deleted = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "deleted", epochs=1, rows=64,
                                                               units=4)), timeout=30).id
        self.wait_ended(stub, deleted)
        stub.DeleteJob(pb.DeleteJobRequest(id=deleted))
        # One long job on the one worker, then three queued behind it.
        running = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "long", epochs=200)),
                                 timeout=30).id
        queued = [stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, f"q{i}", epochs=1, rows=64,
                                                               units=4)), timeout=30).id
                  for i in range(3)]
        durable.kill()
        durable.start()
        stub = durable.stub
        listed = [j.id for j in stub.ListJobs(pb.ListJobsRequest()).jobs]
        self.assertEqual(listed, [first, running] + queued)
        after = stub.GetJob(pb.GetJobRequest(id=first, include_weights=True))
        self.assertEqual(without_times(after), without_times(before))
        self.assertEqual(stub.Predict(pb.PredictRequest(job_id=first, features=features)),
                         predicted)
        with self.assertRaises(self.grpc.RpcError) as e:
            stub.GetJob(pb.GetJobRequest(id=deleted))
        self.assertEqual(e.exception.code(), self.grpc.StatusCode.NOT_FOUND)
        # The running job resumes first, then the queue in its order.
        stub.CancelJob(pb.CancelJobRequest(id=running))
        ends = [self.wait_ended(stub, q) for q in queued]
        self.assertTrue(all(j.state == pb.JOB_STATE_SUCCEEDED for j in ends))
        starts = [j.start_time.ToNanoseconds() for j in ends]
        self.assertEqual(starts, sorted(starts))
        # Retention (--max_retained_jobs=3): the oldest ended jobs are gone, with their rows.
        durable.stop()
        durable.start()
        listed = [j.id for j in durable.stub.ListJobs(pb.ListJobsRequest()).jobs]
        self.assertEqual(listed, queued)
        durable.stop()

    def test_a_stopping_server_checkpoints_its_jobs_where_they_stop(self):
        pb = self.pb
        # The default checkpoint flags: no periodic checkpoint within this test's seconds.
        durable = Durable(self.state("drain")).start()
        job_id = durable.stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "drained",
                                                                      epochs=500)),
                                        timeout=30).id
        deadline = time.time() + 60
        while time.time() < deadline:
            seen = durable.stub.GetJob(pb.GetJobRequest(id=job_id)).last_progress.step
            if seen >= 200:
                break
            time.sleep(0.01)
        began = time.time()
        rc, _ = durable.stop()  # SIGTERM: the drain suspends the job instead of waiting for it
        self.assertEqual(rc, 0)
        self.assertLess(time.time() - began, 10)
        checkpoints = glob.glob(os.path.join(self.state("drain"), "checkpoints", "*.ckpt"))
        self.assertEqual(len(checkpoints), 1)
        stopped_at = int(re.search(r"-(\d+)\.ckpt$", checkpoints[0]).group(1))
        self.assertGreaterEqual(stopped_at, seen)
        durable.start()
        job = durable.stub.GetJob(pb.GetJobRequest(id=job_id))
        self.assertEqual(job.resumed, 1)
        self.assertGreaterEqual(job.last_progress.step, seen)  # its history up to the stop
        durable.stub.CancelJob(pb.CancelJobRequest(id=job_id))
        self.assertEqual(self.wait_ended(durable.stub, job_id).state, pb.JOB_STATE_CANCELLED)
        durable.stop()

    def test_damaged_checkpoint_and_row_fail_only_their_job(self):
        pb = self.pb
        durable = Durable(self.state("damage"), "--checkpoint_steps=10",
                          "--checkpoint_interval=0s", "--training_workers=2").start()
        stub = durable.stub
        done = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "row-to-damage", epochs=1,
                                                            rows=64, units=4)), timeout=30).id
        self.wait_ended(stub, done)
        intact = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "intact", epochs=1, rows=64,
                                                              units=4)), timeout=30).id
        self.wait_ended(stub, intact)
        long_id = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "long", epochs=500)),
                                 timeout=30).id
        checkpoints = os.path.join(self.state("damage"), "checkpoints")
        deadline = time.time() + 60
        while time.time() < deadline and not glob.glob(f"{checkpoints}/{long_id}-*.ckpt"):
            time.sleep(0.01)
        # A clean stop: SQLite folds its log into jobs.db, where the row's bytes can be found.
        rc, _ = durable.stop()
        self.assertEqual(rc, 0)
        (path,) = glob.glob(f"{checkpoints}/{long_id}-*.ckpt")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        db = os.path.join(self.state("damage"), "jobs.db")
        data = bytearray(open(db, "rb").read())
        at = data.find(b"row-to-damage")
        self.assertGreater(at, 0)
        data[at + 3] ^= 0x01
        open(db, "wb").write(data)
        durable.start()
        stub = durable.stub
        for job_id, what in ((long_id, "checkpoint"), (done, "record")):
            job = self.wait_ended(stub, job_id)
            self.assertEqual(job.state, pb.JOB_STATE_FAILED)
            self.assertIn("damaged", job.error.message)
            self.assertIn(what, job.error.message)
        self.assertEqual(stub.GetJob(pb.GetJobRequest(id=intact)).state, pb.JOB_STATE_SUCCEEDED)
        durable.stop()
        # A database SQLite cannot read at all is set aside; the server starts and serves.
        with open(db, "r+b") as f:
            f.seek(0)
            f.write(b"\x00" * 4096)
        durable.start()
        fresh = durable.stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "after", epochs=1,
                                                                     rows=64, units=4)),
                                       timeout=30).id
        self.assertEqual(self.wait_ended(durable.stub, fresh).state, pb.JOB_STATE_SUCCEEDED)
        _, log = durable.stop()
        self.assertIn("damaged", log)
        self.assertTrue(glob.glob(db + ".damaged-*"))

    def test_full_disk_refuses_the_submit_and_keeps_serving(self):
        pb = self.pb
        from proto.actserve.v1 import activation_service_pb2 as apb
        limit = 1 << 20  # no file in the state directory may pass 1 MiB
        state = self.state("full")
        os.makedirs(state)
        durable = Durable(state, "--checkpoint_steps=5", "--checkpoint_interval=0s")
        binary = actserve_testing.server_binary()
        durable.start = lambda: _start_limited(durable, binary, limit)
        durable.start()
        stub = durable.stub
        # Inline data of ~2 MiB: its recipe cannot be stored, so the job is not accepted.
        big = spec(pb, "big", epochs=1, units=4)
        big.data.ClearField("generated")
        rows = 100000
        big.data.inline.features.CopyFrom(apb.Tensor(shape=[rows, 2], dtype=apb.DTYPE_FLOAT32,
                                                     float_data=[0.5] * (2 * rows)))
        big.data.inline.targets.CopyFrom(apb.Tensor(shape=[rows], dtype=apb.DTYPE_FLOAT32,
                                                    float_data=[1.0] * rows))
        with self.assertRaises(self.grpc.RpcError) as e:
            stub.SubmitJob(pb.SubmitJobRequest(spec=big), timeout=60)
        self.assertEqual(e.exception.code(), self.grpc.StatusCode.RESOURCE_EXHAUSTED,
                         e.exception.details())
        self.assertIn("full", e.exception.details())
        # A job whose checkpoints (~1.6 MiB) cannot be written still trains to its end.
        wide = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "wide", epochs=1, rows=256,
                                                            units=256)), timeout=30).id
        self.assertEqual(self.wait_ended(stub, wide).state, pb.JOB_STATE_SUCCEEDED)
        small = stub.SubmitJob(pb.SubmitJobRequest(spec=spec(pb, "small", epochs=1, rows=64,
                                                             units=4)), timeout=30).id
        self.assertEqual(self.wait_ended(stub, small).state, pb.JOB_STATE_SUCCEEDED)
        metrics = durable.metrics()
        errors = re.search(r'actserve_job_store_errors_total\{operation="checkpoint"\} (\S+)',
                           metrics)
        self.assertGreater(float(errors.group(1)), 0)
        self.assertRegex(metrics, r"actserve_job_store_bytes \d")
        rc, _ = durable.stop()
        self.assertEqual(rc, 0)

    def test_a_second_server_and_an_uncreatable_directory_are_refused(self):
        durable = Durable(self.state("lock")).start()
        for state_dir, message in ((self.state("lock"), "in use by another actserve"),
                                   (os.path.join(actserve_testing.server_binary(), "state"),
                                    "--state_dir")):
            second = subprocess.run([actserve_testing.server_binary(), "--address=127.0.0.1:0",
                                     "--metrics_address=127.0.0.1:0",
                                     f"--state_dir={state_dir}"],
                                    capture_output=True, text=True, timeout=30)
            self.assertNotEqual(second.returncode, 0)
            self.assertIn(message, second.stderr)
        self.assertIn(str(durable.server.proc.pid),
                      subprocess.run([actserve_testing.server_binary(), "--address=127.0.0.1:0",
                                      "--metrics_address=127.0.0.1:0",
                                      f"--state_dir={self.state('lock')}"],
                                     capture_output=True, text=True, timeout=30).stderr)
        durable.stop()


def _start_limited(durable, binary, limit):
    """Durable.start under a file-size limit (prlimit --fsize)."""
    import grpc
    from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
    durable.server = ServerProcess(binary, f"--state_dir={durable.state_dir}",
                                   "--training_workers=1", *durable.args,
                                   prefix=("prlimit", f"--fsize={limit}"))
    durable.channel = grpc.insecure_channel(durable.server.address)
    durable.stub = pb_grpc.TrainingServiceStub(durable.channel)
    return durable


if __name__ == "__main__":
    actserve_testing.main(requires=("grpc",))
