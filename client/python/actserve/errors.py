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
    """

    def __init__(self, code: grpc.StatusCode, message: str, field: Optional[str] = None):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.field = field if field is not None else field_of(message)

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError, target: str) -> "ActserveError":
        """The ActserveError for a grpcio error; an unreachable server gets one plain sentence
        instead of grpcio's connection details."""
        code, details = error.code(), error.details() or ""
        if code == grpc.StatusCode.UNAVAILABLE and _is_connection_failure(details):
            return cls(code, f"cannot reach an actserve server at {target}: is it running? "
                             f"({_first_line(details)})", field=None)
        return cls(code, details)

    @classmethod
    def from_code_number(cls, code: int, message: str) -> "ActserveError":
        """The ActserveError for a status carried in a message (a stream's Error, a Job's)."""
        by_number = {c.value[0]: c for c in grpc.StatusCode}
        return cls(by_number.get(code, grpc.StatusCode.UNKNOWN), message)


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
