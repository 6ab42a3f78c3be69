#!/usr/bin/python3
"""Admission and identity rules of the real server over gRPC: the memory budget's refusals,
retried submits with a request id, submits past their deadline, bounded and canonical ids and
names, layers no gradient reaches, and the budget's metrics.

  /usr/bin/python3 tests/admission_test.py --server build/server/actserve
"""
import os
import re
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import actserve_testing  # noqa: E402
from actserve_testing import ServerProcess  # noqa: E402

BUDGET = 64 << 20


class AdmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        from proto.actserve.v1 import activation_service_pb2 as apb
        from proto.actserve.v1 import activation_service_pb2_grpc as apb_grpc
        from proto.actserve.v1 import training_service_pb2 as pb
        from proto.actserve.v1 import training_service_pb2_grpc as pb_grpc
        cls.grpc, cls.apb, cls.pb = grpc, apb, pb
        cls.server = ServerProcess(actserve_testing.server_binary(),
                                   f"--max_memory_bytes={BUDGET}", "--training_workers=1")
        cls.channel = grpc.insecure_channel(cls.server.address, options=[
            ("grpc.max_send_message_length", 256 << 20)])
        cls.act = apb_grpc.ActivationServiceStub(cls.channel)
        cls.train = pb_grpc.TrainingServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0

    def spec(self, rows=64, units=8, activation="tanh", name="t"):
        pb = self.pb
        return pb.JobSpec(name=name, layers=[pb.Layer(units=units, activation=activation),
                                             pb.Layer(units=2, activation="identity")],
                          loss=pb.LOSS_SOFTMAX_CROSS_ENTROPY, batch_size=16, epochs=1,
                          optimizer=pb.Optimizer(learning_rate=0.05),
                          data=pb.Data(generated=pb.GeneratedData(name="xor", rows=rows)))

    def code(self, call):
        try:
            call()
        except self.grpc.RpcError as e:
            return e.code(), e.details()
        return self.grpc.StatusCode.OK, ""

    def test_a_request_over_the_budget_is_resource_exhausted_saying_what_is_free(self):
        n = 4 << 20  # 16 MiB of float32: charged 4 times, 64 MiB, the whole budget and more
        x = self.apb.Tensor(shape=[n], dtype=self.apb.DTYPE_FLOAT32)
        x.float_data.extend([0.0] * n)
        code, details = self.code(lambda: self.act.Forward(
            self.apb.ForwardRequest(activation="relu", x=x), timeout=60))
        self.assertEqual(code, self.grpc.StatusCode.RESOURCE_EXHAUSTED, details)
        self.assertIn("Forward needs 64.0 MiB", details)
        self.assertIn("--max_memory_bytes", details)
        # Small calls still answer.
        r = self.act.Forward(self.apb.ForwardRequest(
            activation="relu", x=self.apb.Tensor(shape=[1], dtype=self.apb.DTYPE_FLOAT64,
                                                 double_data=[-1])), timeout=10)
        self.assertEqual(list(r.y.double_data), [0.0])

    def test_a_job_whose_estimate_exceeds_the_budget_is_refused_before_it_is_queued(self):
        spec = self.spec(rows=4_000_000, units=4096)
        spec.batch_size = 4_000_000
        code, details = self.code(lambda: self.train.SubmitJob(
            self.pb.SubmitJobRequest(spec=spec), timeout=60))
        self.assertEqual(code, self.grpc.StatusCode.RESOURCE_EXHAUSTED, details)
        self.assertIn("the job", details)
        jobs = self.train.ListJobs(self.pb.ListJobsRequest(), timeout=10).jobs
        self.assertFalse(any(j.spec.batch_size == 4_000_000 for j in jobs))

    def test_a_retried_submit_with_a_request_id_returns_the_first_job(self):
        request = self.pb.SubmitJobRequest(spec=self.spec(), request_id="retry-1")
        first = self.train.SubmitJob(request, timeout=30)
        again = self.train.SubmitJob(request, timeout=30)
        self.assertEqual(first.id, again.id)
        other = self.train.SubmitJob(self.pb.SubmitJobRequest(spec=self.spec(),
                                                              request_id="retry-2"), timeout=30)
        self.assertNotEqual(first.id, other.id)
        code, details = self.code(lambda: self.train.SubmitJob(
            self.pb.SubmitJobRequest(spec=self.spec(), request_id="r" * 65), timeout=30))
        self.assertEqual(code, self.grpc.StatusCode.INVALID_ARGUMENT, details)
        self.assertIn("request_id", details)

    def test_a_submit_whose_deadline_passed_creates_nothing(self):
        before = len(self.train.ListJobs(self.pb.ListJobsRequest(), timeout=10).jobs)
        # A large generated set takes longer to convert than the deadline allows.
        code, _ = self.code(lambda: self.train.SubmitJob(self.pb.SubmitJobRequest(
            spec=self.spec(rows=200_000), request_id="late"), timeout=0.001))
        self.assertEqual(code, self.grpc.StatusCode.DEADLINE_EXCEEDED)
        time.sleep(2)
        after = len(self.train.ListJobs(self.pb.ListJobsRequest(), timeout=10).jobs)
        self.assertEqual(before, after)

    def test_job_ids_are_random_canonical_and_compared_exactly(self):
        job = self.train.SubmitJob(self.pb.SubmitJobRequest(spec=self.spec()), timeout=30)
        self.assertRegex(job.id, r"^job-[0-9a-f]{32}$")
        for wrong in (" " + job.id, job.id.upper(), job.id + "0", "job-+" + job.id[4:]):
            code, details = self.code(lambda: self.train.GetJob(
                self.pb.GetJobRequest(id=wrong), timeout=10))
            self.assertEqual(code, self.grpc.StatusCode.NOT_FOUND, wrong)
        huge = "j" * (1 << 20)
        code, details = self.code(lambda: self.train.GetJob(self.pb.GetJobRequest(id=huge),
                                                            timeout=10))
        self.assertEqual(code, self.grpc.StatusCode.NOT_FOUND)
        self.assertLess(len(details), 400)

    def test_long_names_are_invalid_and_quoted_by_a_short_prefix(self):
        code, details = self.code(lambda: self.train.SubmitJob(
            self.pb.SubmitJobRequest(spec=self.spec(name="n" * (1 << 20))), timeout=30))
        self.assertEqual(code, self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("name:", details)
        self.assertLess(len(details), 300)
        code, details = self.code(lambda: self.act.Forward(self.apb.ForwardRequest(
            activation="g" * (1 << 20)), timeout=10))
        self.assertEqual(code, self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertLess(len(details), 300)

    def test_a_layer_no_gradient_reaches_is_refused_unless_frozen(self):
        spec = self.spec(activation="binary_step")
        code, details = self.code(lambda: self.train.SubmitJob(
            self.pb.SubmitJobRequest(spec=spec), timeout=30))
        self.assertEqual(code, self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("layers[0]", details)
        self.assertIn("binary_step", details)
        spec.layers[0].frozen = True
        self.train.SubmitJob(self.pb.SubmitJobRequest(spec=spec), timeout=30)

    def test_the_budget_is_exported_as_metrics(self):
        m = re.search(r"metrics on http://(\S+)/metrics", self.server.proc.stdout.readline())
        self.assertIsNotNone(m)
        with urllib.request.urlopen(f"http://{m.group(1)}/metrics", timeout=10) as r:
            text = r.read().decode()
        self.assertIn(f"actserve_memory_budget_bytes {BUDGET}", text)
        self.assertRegex(text, r"actserve_memory_reserved_bytes \d+")
        self.assertRegex(text, r"actserve_memory_rejections_total \d+")


if __name__ == "__main__":
    actserve_testing.main()
