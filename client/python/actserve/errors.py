"""The one exception type of the package: a refused or failed call, with its gRPC code."""
import re
from typing import Optional

import grpc

# The server's messages begin with the field at fault: "x.shape has ...", "params: ...",
# "layers[1].units must ...". A message that does not begin so names no field.
_FIELD = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*)"
                    r"(?=: | has | is | must | needs )")


class ActserveError(Exception):
    """A call that failed: refused by the server, or checked and refused by the client first.

    Attributes:
      code: the grpc.StatusCode (INVALID_ARGUMENT for bad input, NOT_FOUND for an unknown job,
        RESOURCE_EXHAUSTED past a limit, UNAVAILABLE when the server cannot be reached or
        drains, DEADLINE_EXCEEDED, CANCELLED, ...).
      message: the server's message unchanged (or the client's, for input it refuses itself).
      field: the request field at fault as the message names it ("x.shape", "params",
        "spec.layers[0].units"), or None when the message names none.
      retry_after: for a RESOURCE_EXHAUSTED that may succeed later (a tenant's quota), the
        seconds the server asks the client to wait first (its google.rpc.RetryInfo); None
        otherwise.
    """

    def __init__(self, code: grpc.StatusCode, message: str, field: Optional[str] = None,
                 retry_after: Optional[float] = None):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.field = field if field is not None else field_of(message)
        self.retry_after = retry_after

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError, target: str,
                       token_sent: bool = True) -> "ActserveError":
        """The ActserveError for a grpcio error; an unreachable server gets one plain sentence
        instead of grpcio's connection details, and a refused call without a token says how to
        send one."""
        code, details = error.code(), error.details() or ""
        if code == grpc.StatusCode.UNAVAILABLE and _is_connection_failure(details):
            return cls(code, f"cannot reach an actserve server at {target}: is it running? "
                             f"({_first_line(details)})", field=None)
        if code == grpc.StatusCode.UNAUTHENTICATED and not token_sent:
            return cls(code, f"{details} (the server requires a token: pass token= or "
                             f"token_file=, or set ACTSERVE_TOKEN)", field=None)
        trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        return cls(code, details, retry_after=retry_delay(trailers or ()))

    @classmethod
    def from_code_number(cls, code: int, message: str) -> "ActserveError":
        """The ActserveError for a status carried in a message (a stream's Error, a Job's)."""
        by_number = {c.value[0]: c for c in grpc.StatusCode}
        return cls(by_number.get(code, grpc.StatusCode.UNKNOWN), message)


_STATUS_DETAILS = "grpc-status-details-bin"
_RETRY_INFO_URL = "type.googleapis.com/google.rpc.RetryInfo"


def retry_delay(trailers) -> Optional[float]:
    """Seconds of the google.rpc.RetryInfo in a call's status details (the
    grpc-status-details-bin trailer: a google.rpc.Status), or None. Decoded from the wire
    format directly, so that the package does not need googleapis-common-protos."""
    for key, value in trailers:
        if key != _STATUS_DETAILS:
            continue
        for number, any_bytes in _fields(value):
            if number != 3:  # Status.details: repeated Any
                continue
            any_fields = dict(_fields(any_bytes))
            if any_fields.get(1) != _RETRY_INFO_URL.encode():
                continue
            for n, duration in _fields(any_fields.get(2, b"")):
                if n == 1:  # RetryInfo.retry_delay: Duration {seconds = 1, nanos = 2}
                    d = dict(_fields(duration))
                    return d.get(1, 0) + d.get(2, 0) / 1e9
            return 0.0
    return None


def _fields(data: bytes):
    """(field number, value) of each varint or length-delimited field of a protobuf message;
    stops at anything else."""
    def varint(i):
        shift = result = 0
        while i < len(data):
            b = data[i]
            result |= (b & 0x7F) << shift
            i += 1
            if not b & 0x80:
                return result, i
            shift += 7
        raise ValueError("truncated varint")
    i = 0
    try:
        while i < len(data):
            key, i = varint(i)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                value, i = varint(i)
                yield number, value
            elif wire_type == 2:
                length, i = varint(i)
                yield number, data[i:i + length]
                i += length
            else:
                return
    except ValueError:
        return


def field_of(message: str) -> Optional[str]:
    """The field a server message begins with, or None."""
    m = _FIELD.match(message)
    return m.group(1) if m else None


def _is_connection_failure(details: str) -> bool:
    words = ("failed to connect", "connect failed", "connection refused", "Socket closed",
             "DNS resolution failed", "Name resolution failure", "No address")
    return any(w.lower() in details.lower() for w in words)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no details"
