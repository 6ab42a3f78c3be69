"""Client: the actserve API in NumPy terms, one method per operation."""
import dataclasses
import os
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Union)

import grpc
import numpy as np
from google.protobuf import json_format, text_format

from actserve.catalog import Activation
from actserve.errors import ActserveError
from actserve.tensor import (ArrayLike, ParamValue, decode_tensor, encode_tensor, from_params,
                             from_tensor, to_params, to_tensor, wire_fields)
from actserve._generated.proto.actserve.v1 import activation_service_pb2 as pb
from actserve._generated.proto.actserve.v1 import activation_service_pb2_grpc as pb_grpc
from actserve._generated.proto.actserve.v1 import training_service_pb2 as tpb
from actserve._generated.proto.actserve.v1 import training_service_pb2_grpc as tpb_grpc
from actserve._generated.proto.grpc.health.v1 import health_pb2, health_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:50051"


class _ClientDefault:
    """The `timeout` of a call that did not give one: the client's."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _ClientDefault()

_BACKENDS = {"auto": pb.BACKEND_UNSPECIFIED, "cpu": pb.BACKEND_CPU, "cuda": pb.BACKEND_CUDA}

JobRef = Union[str, tpb.Job]
# A job description: the message, a dict in its JSON form, or the path of a text-format file
# (JSON if the name ends in .json), as actctl reads them.
SpecLike = Union[tpb.JobSpec, Mapping[str, Any], str, os.PathLike]


def _read(path: Optional[str]) -> Optional[bytes]:
    """The bytes of `path`, or None for no path."""
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def default_target() -> str:
    """$ACTSERVE_SERVER if set, else 127.0.0.1:50051."""
    return os.environ.get("ACTSERVE_SERVER") or DEFAULT_TARGET


@dataclasses.dataclass
class ForwardCall:
    """A forward call for Client.evaluate: y = f(x) with parameter overrides."""
    activation: str
    x: ArrayLike
    params: Dict[str, ParamValue] = dataclasses.field(default_factory=dict)
    seed: int = 0
    training: bool = False
    backend: str = "auto"

    def __init__(self, activation: str, x: ArrayLike, *, seed: int = 0, training: bool = False,
                 backend: str = "auto", **params: ParamValue):
        self.activation, self.x, self.params = activation, x, dict(params)
        self.seed, self.training, self.backend = seed, training, backend


@dataclasses.dataclass
class BackwardCall:
    """A backward call for Client.evaluate: dx = dy * f'(x) and parameter gradients."""
    activation: str
    x: ArrayLike
    dy: ArrayLike
    params: Dict[str, ParamValue] = dataclasses.field(default_factory=dict)
    seed: int = 0
    training: bool = False
    backend: str = "auto"
    from_output: bool = False

    def __init__(self, activation: str, x: ArrayLike, dy: ArrayLike, *, seed: int = 0,
                 training: bool = False, backend: str = "auto", from_output: bool = False,
                 **params: ParamValue):
        self.activation, self.x, self.dy, self.params = activation, x, dy, dict(params)
        self.seed, self.training, self.backend = seed, training, backend
        self.from_output = from_output


class Prediction(NamedTuple):
    """Client.predict's answer: outputs [rows, outputs] in the features' dtype; classes [rows]
    (int64) for a classification loss, else None."""
    outputs: np.ndarray
    classes: Optional[np.ndarray]


class JobWatch:
    """An iterator over a job's progress reports (actserve.pb.Progress messages), oldest
    first, ending when the job ends; `job` then holds the job in its end state."""

    def __init__(self, responses, wrap):
        self._responses, self._wrap = responses, wrap
        self.job: Optional[tpb.Job] = None

    def __iter__(self) -> "JobWatch":
        return self

    def __next__(self) -> tpb.Progress:
        try:
            for resp in self._responses:
                if resp.WhichOneof("update") == "job":
                    self.job = resp.job
                else:
                    return resp.progress
        except grpc.RpcError as e:
            raise self._wrap(e) from None
        raise StopIteration

    def cancel(self) -> None:
        """Stops watching (the job goes on)."""
        self._responses.cancel()


def _backend(name: str) -> int:
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ActserveError(grpc.StatusCode.INVALID_ARGUMENT,
                            f"backend: unknown backend {name!r}; expected one of "
                            f"{', '.join(_BACKENDS)}", field="backend") from None


def _job_id(job: JobRef) -> str:
    return job.id if isinstance(job, tpb.Job) else str(job)


def _merge(params: Optional[Mapping[str, ParamValue]], kw: Mapping[str, ParamValue]):
    merged = dict(params or {})
    merged.update(kw)
    return merged


class Client:
    """A connection to an actserve server, speaking NumPy.

    Arrays go in and come out as numpy.ndarray of float32 or float64 (the dtype is kept), of
    any shape: 0-D, empty, N-D, any strides. Integer and other non-float arrays are refused
    (convert them yourself). Activation parameters are keyword arguments (`a=0.2`, or
    one value per channel for learnable ones: `a=[0.1, 0.2, 0.3]`), or a `params` dict for
    names that are Python keywords (selu's "lambda").

    Every failure raises ActserveError with the gRPC code, the server's message unchanged
    and the field at fault; a server that cannot be reached is one UNAVAILABLE error saying
    so. Each call has a deadline: `timeout` seconds (the client's default, or the call's own
    `timeout=`; None waits forever), past which it raises DEADLINE_EXCEEDED.

    The client is thread-safe and cheap to share; close() (or a `with` block) releases the
    connection.

    Example:
        with actserve.Client("127.0.0.1:50051") as c:
            y = c.forward("gelu", np.linspace(-3, 3, 7))
            dx, grads = c.backward("prelu", x, dy, a=[0.1, 0.2])   # grads["a"]
    """

    def __init__(self, target: Optional[str] = None, *, timeout: Optional[float] = 30.0,
                 tls: bool = False, ca: Optional[str] = None, cert: Optional[str] = None,
                 key: Optional[str] = None, token_file: Optional[str] = None,
                 credentials: Optional[grpc.ChannelCredentials] = None,
                 token: Optional[str] = None,
                 options: Sequence[Tuple[str, Any]] = ()):
        """Connects lazily to `target` (host:port; default $ACTSERVE_SERVER, else
        127.0.0.1:50051).

        timeout: the default deadline of each call in seconds (None: no deadline); streams
          (evaluate, watch) have none unless their call gives one.
        tls, ca, cert, key: TLS, as actctl's flags of the same names: tls=True checks the
          server's certificate against the system's CAs, or against the PEM file `ca` (which
          implies tls); `cert` and `key` are this client's PEM certificate and key, for a
          server that requires one (mTLS).
        token_file: a file whose first line is the bearer token.
        credentials: grpc.ChannelCredentials of your own, instead of tls/ca/cert/key.
        token: the token itself. Without token and token_file, $ACTSERVE_TOKEN if set. It is
          sent as "authorization: Bearer <token>" with every call.
        options: extra grpc channel options. Message sizes are unlimited on the client
          side: the server's limits apply, and its RESOURCE_EXHAUSTED says which.
        """
        self.target = target or default_target()
        self.timeout = timeout
        opts = [("grpc.max_receive_message_length", -1),
                ("grpc.max_send_message_length", -1)] + list(options)
        if credentials is None and (tls or ca or cert or key):
            if bool(cert) != bool(key):
                raise ValueError("cert and key go together: give both or neither")
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(ca), private_key=_read(key),
                certificate_chain=_read(cert))
        if token is None and token_file:
            lines = _read(token_file).decode().splitlines()
            token = lines[0].strip() if lines else ""
            if not token:
                raise ValueError(f"token_file {token_file} is empty")
        if token is None:
            token = os.environ.get("ACTSERVE_TOKEN") or None
        if credentials is not None:
            self._channel = grpc.secure_channel(self.target, credentials, options=opts)
        else:
            self._channel = grpc.insecure_channel(self.target, options=opts)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._activations = pb_grpc.ActivationServiceStub(self._channel)
        self._training = tpb_grpc.TrainingServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        # Forward and Backward answer with raw bytes, decoded by actserve.tensor (see there).
        self._forward_raw = self._channel.unary_unary(
            "/actserve.v1.ActivationService/Forward",
            request_serializer=pb.ForwardRequest.SerializeToString)
        self._backward_raw = self._channel.unary_unary(
            "/actserve.v1.ActivationService/Backward",
            request_serializer=pb.BackwardRequest.SerializeToString)
        self._catalog: Optional[List[Activation]] = None

    # ---- connection ----

    def close(self) -> None:
        """Closes the connection; calls in progress are cancelled."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"actserve.Client({self.target!r})"

    def __deepcopy__(self, memo) -> "Client":
        # Copies of a model (copy.deepcopy) share their client, as they share the server.
        return self

    def __reduce__(self):
        # Pickled (torch.save of a model) as its target and default timeout; credentials and
        # tokens are not saved.
        return (Client, (self.target,), {"timeout": self.timeout})

    def __setstate__(self, state) -> None:
        self.timeout = state["timeout"]

    def _deadline(self, timeout):
        return self.timeout if timeout is DEFAULT else timeout

    def _error(self, e: grpc.RpcError) -> ActserveError:
        return ActserveError.from_rpc_error(e, self.target, token_sent=self._metadata is not None)

    def _unary(self, method, request, timeout):
        try:
            return method(request, timeout=self._deadline(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise self._error(e) from None

    def health(self, service: str = "", *, timeout: Optional[float] = DEFAULT) -> str:
        """The gRPC health status of `service` ("" for the server, or
        "actserve.v1.ActivationService"): "SERVING" or "NOT_SERVING" (while draining)."""
        resp = self._unary(self._health.Check, health_pb2.HealthCheckRequest(service=service),
                           timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)

    # ---- activations ----

    def activations(self, *, timeout: Optional[float] = DEFAULT) -> List[Activation]:
        """The catalog, in catalog order: each function's formula, derivative, parameters
        (defaults, bounds, learnable or not), properties, layout and noise. Fetched once per
        client (the catalog is fixed for a server version)."""
        if self._catalog is None:
            resp = self._unary(self._activations.ListActivations, pb.ListActivationsRequest(),
                               timeout)
            self._catalog = [Activation.from_proto(a) for a in resp.activations]
        return list(self._catalog)

    def activation(self, name: str) -> Activation:
        """The catalog entry for a name or alias; NOT_FOUND for an unknown one."""
        for a in self.activations():
            if name == a.name or name in a.aliases:
                return a
        raise ActserveError(grpc.StatusCode.NOT_FOUND,
                            f"activation: unknown activation {name!r}; "
                            f"activations() lists the known ones", field="activation")

    def forward(self, activation: str, x: ArrayLike, *,
                params: Optional[Mapping[str, ParamValue]] = None, seed: int = 0,
                training: bool = False, backend: str = "auto",
                timeout: Optional[float] = DEFAULT, **kw_params: ParamValue) -> np.ndarray:
        """y = f(x), an array of x's dtype and shape (the last axis shrinks for maxout and glu).

        activation: a catalog name or alias. params / keyword arguments: parameter values,
          one number or one per channel (axis 1 of x) for learnable parameters.
        seed, training: the noise of rrelu (in training) and noisy_relu; the same seed gives
          the same noise, in forward and backward.
        backend: "auto" (the server decides), "cpu" or "cuda".
        """
        req = pb.ForwardRequest(activation=activation,
                                params=to_params(_merge(params, kw_params)), seed=seed,
                                training=training, backend=_backend(backend))
        req.x.MergeFromString(encode_tensor("x", x))
        resp = self._unary(self._forward_raw, req, timeout)  # ForwardResponse: y = 1
        y = [v for number, _, v in wire_fields(resp) if number == 1]
        return decode_tensor(y[-1] if y else b"")

    def backward(self, activation: str, x: ArrayLike, dy: ArrayLike, *,
                 params: Optional[Mapping[str, ParamValue]] = None, seed: int = 0,
                 training: bool = False, backend: str = "auto", from_output: bool = False,
                 timeout: Optional[float] = DEFAULT,
                 **kw_params: ParamValue) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        """(dx, parameter gradients): dx = dy * f'(x) (the vector-Jacobian product for
        last-axis functions) with x's dtype and shape, and {name: float64 array} for the
        learnable parameters that were given or have defaults, one value per value given.
        dy has the forward output's shape and x's dtype. With from_output=True, x is the
        forward's output instead (functions with Activation.backward_from_output: the softmax
        family, sigmoid, tanh), which spares the server the forward. Other arguments as in
        forward()."""
        req = pb.BackwardRequest(activation=activation,
                                 params=to_params(_merge(params, kw_params)), seed=seed,
                                 training=training, backend=_backend(backend),
                                 from_output=from_output)
        req.x.MergeFromString(encode_tensor("x", x))
        req.dy.MergeFromString(encode_tensor("dy", dy))
        resp = self._unary(self._backward_raw, req, timeout)
        dx, grads = b"", []  # BackwardResponse: dx = 1, param_gradients = 2
        for number, _, value in wire_fields(resp):
            if number == 1:
                dx = value
            elif number == 2:
                grads.append(pb.Parameter.FromString(bytes(value)))
        return decode_tensor(dx), from_params(grads)

    def evaluate(self, calls: Iterable[Union[ForwardCall, BackwardCall]], *,
                 timeout: Optional[float] = None, return_errors: bool = False) -> Iterator[Any]:
        """Many forward and backward calls over one stream, answered in order and lazily:
        yields, per call, y (ForwardCall) or (dx, gradients) (BackwardCall).

        A call the server refuses raises its ActserveError (which ends the stream), or with
        return_errors=True is yielded as the ActserveError instance and the stream goes on.
        `calls` may be a generator: requests are sent while answers are read. timeout is for
        the whole stream (default: none).
        """
        failure: List[BaseException] = []

        def requests():
            for i, call in enumerate(calls):
                try:
                    if isinstance(call, ForwardCall):
                        req = pb.EvaluateRequest(id=i, forward=pb.ForwardRequest(
                            activation=call.activation, x=to_tensor("x", call.x),
                            params=to_params(call.params), seed=call.seed,
                            training=call.training, backend=_backend(call.backend)))
                    elif isinstance(call, BackwardCall):
                        req = pb.EvaluateRequest(id=i, backward=pb.BackwardRequest(
                            activation=call.activation, x=to_tensor("x", call.x),
                            dy=to_tensor("dy", call.dy), params=to_params(call.params),
                            seed=call.seed, training=call.training,
                            backend=_backend(call.backend), from_output=call.from_output))
                    else:
                        raise ActserveError(grpc.StatusCode.INVALID_ARGUMENT,
                                            f"calls[{i}] is a {type(call).__name__}; expected "
                                            f"a ForwardCall or a BackwardCall", field="calls")
                except BaseException as e:  # raised to the reader once earlier calls are in
                    failure.append(e)
                    return
                yield req

        responses = self._activations.Evaluate(requests(), timeout=timeout,
                                               metadata=self._metadata)
        try:
            for resp in responses:
                kind = resp.WhichOneof("result")
                if kind == "forward":
                    yield from_tensor(resp.forward.y)
                elif kind == "backward":
                    yield (from_tensor(resp.backward.dx),
                           from_params(resp.backward.param_gradients))
                else:
                    err = ActserveError.from_code_number(resp.error.code, resp.error.message)
                    if not return_errors:
                        raise err
                    yield err
        except grpc.RpcError as e:
            raise self._error(e) from None
        finally:
            responses.cancel()
        if failure:
            raise failure[0]

    # ---- training ----

    @staticmethod
    def job_spec(spec: SpecLike) -> tpb.JobSpec:
        """A JobSpec from the message, a dict in its JSON form ({"layers": [{"units": 8,
        "activation": "tanh"}], ...}), or a file: text format, or JSON if it ends in .json."""
        if isinstance(spec, tpb.JobSpec):
            return spec
        try:
            if isinstance(spec, Mapping):
                return json_format.ParseDict(spec, tpb.JobSpec())
            path = os.fspath(spec)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if path.endswith(".json"):
                return json_format.Parse(text, tpb.JobSpec())
            return text_format.Parse(text, tpb.JobSpec())
        except (json_format.ParseError, text_format.ParseError) as e:
            raise ActserveError(grpc.StatusCode.INVALID_ARGUMENT, f"spec: {e}",
                                field="spec") from None

    def submit(self, spec: SpecLike, *, timeout: Optional[float] = DEFAULT) -> tpb.Job:
        """Queues a training job (see job_spec for the forms `spec` takes); returns the job
        (actserve.pb.Job) in state JOB_STATE_QUEUED with its id."""
        return self._unary(self._training.SubmitJob,
                           tpb.SubmitJobRequest(spec=self.job_spec(spec)), timeout)

    def watch(self, job: JobRef, *, from_report: int = 0,
              timeout: Optional[float] = None) -> JobWatch:
        """The job's progress reports (actserve.pb.Progress) as an iterator: those so far
        (from `from_report`), then each new one, ending when the job ends; the iterator's
        `job` attribute then holds the ended job. A job that has ended replays its reports."""
        responses = self._training.WatchJob(
            tpb.WatchJobRequest(id=_job_id(job), from_report=from_report), timeout=timeout,
            metadata=self._metadata)
        return JobWatch(responses, self._error)

    def wait(self, job: JobRef, *, timeout: Optional[float] = None) -> tpb.Job:
        """Blocks until the job ends; returns it in its end state."""
        w = self.watch(job, from_report=2**62, timeout=timeout)
        for _ in w:
            pass
        return w.job if w.job is not None else self.get(job)

    def get(self, job: JobRef, *, include_weights: bool = False,
            timeout: Optional[float] = DEFAULT) -> tpb.Job:
        """The job now: state, last progress, result, error, and with include_weights its
        trained weights. NOT_FOUND for an unknown id."""
        return self._unary(self._training.GetJob,
                           tpb.GetJobRequest(id=_job_id(job), include_weights=include_weights),
                           timeout)

    def jobs(self, *, timeout: Optional[float] = DEFAULT) -> List[tpb.Job]:
        """Every job the server holds, oldest first, without weights."""
        return list(self._unary(self._training.ListJobs, tpb.ListJobsRequest(), timeout).jobs)

    def cancel(self, job: JobRef, *, timeout: Optional[float] = DEFAULT) -> tpb.Job:
        """Stops a queued or running job; returns it in state JOB_STATE_CANCELLED.
        FAILED_PRECONDITION if it has already ended."""
        return self._unary(self._training.CancelJob, tpb.CancelJobRequest(id=_job_id(job)),
                           timeout)

    def delete(self, job: JobRef, *, timeout: Optional[float] = DEFAULT) -> None:
        """Forgets a job (cancelling it first if it runs). NOT_FOUND for an unknown id."""
        self._unary(self._training.DeleteJob, tpb.DeleteJobRequest(id=_job_id(job)), timeout)

    def predict(self, model: Union[JobRef, tpb.Network], features: ArrayLike, *,
                timeout: Optional[float] = DEFAULT) -> Prediction:
        """Evaluates a network on rows `features` [rows, inputs]: an ended job's trained
        network (its id or Job), or an actserve.pb.Network given in full. The computation and
        the outputs have the features' dtype."""
        req = tpb.PredictRequest(features=to_tensor("features", features))
        if isinstance(model, tpb.Network):
            req.network.CopyFrom(model)
        else:
            req.job_id = _job_id(model)
        resp = self._unary(self._training.Predict, req, timeout)
        classes = np.array(resp.classes, dtype=np.int64) if len(resp.classes) else None
        return Prediction(from_tensor(resp.outputs), classes)

    def sweep(self, spec: SpecLike,
              activations: Sequence[Union[str, Tuple[str, Mapping[str, ParamValue]]]], *,
              timeout: Optional[float] = DEFAULT) -> tpb.Sweep:
        """Trains the same network (same initial weights, data and order) once per hidden
        activation: names, or (name, {param: value}) pairs. Returns the Sweep with one
        queued job per activation, in order; all or none are queued."""
        req = tpb.SubmitSweepRequest(spec=self.job_spec(spec))
        for a in activations:
            name, params = (a, {}) if isinstance(a, str) else a
            req.activations.add(activation=name, params=to_params(params))
        return self._unary(self._training.SubmitSweep, req, timeout)

    def get_sweep(self, sweep: Union[str, tpb.Sweep], *,
                  timeout: Optional[float] = DEFAULT) -> tpb.Sweep:
        """A sweep's jobs side by side, in the order of its activations."""
        sweep_id = sweep.id if isinstance(sweep, tpb.Sweep) else str(sweep)
        return self._unary(self._training.GetSweep, tpb.GetSweepRequest(id=sweep_id), timeout)
