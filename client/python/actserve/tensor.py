"""NumPy arrays to and from actserve.v1.Tensor.

An array is sent as its little-endian float32 or float64 elements in row-major order, whatever
its strides; integer, boolean, float16 and complex arrays are refused rather than converted, so
that a call never silently changes precision. Results come back as fresh, writable arrays of the
dtype that was sent.

The packed data fields are written and read as raw bytes (a packed repeated float field is
exactly its elements' little-endian bytes), which keeps large tensors out of Python loops.
"""
from typing import Dict, Mapping, Optional, Sequence, Union

import grpc
import numpy as np

from actserve.errors import ActserveError
from actserve._generated.proto.actserve.v1 import activation_service_pb2 as pb

ArrayLike = Union[np.ndarray, Sequence[float], float]
# A parameter value: one number, or one per channel (axis 1 of x).
ParamValue = Union[float, Sequence[float], np.ndarray]

_DTYPES = {np.dtype(np.float32): (pb.DTYPE_FLOAT32, 3, np.dtype("<f4")),
           np.dtype(np.float64): (pb.DTYPE_FLOAT64, 4, np.dtype("<f8"))}
_NUMPY_DTYPE = {pb.DTYPE_FLOAT32: np.dtype(np.float32), pb.DTYPE_FLOAT64: np.dtype(np.float64)}


def as_float_array(field: str, value: ArrayLike) -> np.ndarray:
    """value as a float32 or float64 ndarray (any strides, any byte order), or an
    INVALID_ARGUMENT ActserveError naming `field` for any other element type."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f" and arr.dtype.itemsize in (4, 8):
        return arr
    raise ActserveError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{field} has dtype {arr.dtype}; actserve computes float32 or float64, convert it "
        f"first (e.g. {field}.astype(numpy.float64))", field=field)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def to_tensor(field: str, value: ArrayLike) -> pb.Tensor:
    """The Tensor message for an array (see as_float_array for what is refused)."""
    arr = as_float_array(field, value)
    dtype, data_field, wire_dtype = _DTYPES[np.dtype(arr.dtype.type)]
    parts = []
    if arr.ndim:
        shape = b"".join(_varint(d) for d in arr.shape)
        parts += [b"\x0a", _varint(len(shape)), shape]
    parts += [b"\x10", _varint(dtype)]
    if arr.size:
        data = arr.astype(wire_dtype, copy=False).tobytes(order="C")
        parts += [_varint(data_field << 3 | 2), _varint(len(data)), data]
    return pb.Tensor.FromString(b"".join(parts))


def _read_varint(buf: memoryview, pos: int):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _packed_data(serialized: bytes, data_field: int) -> Optional[memoryview]:
    """The payload of the packed field `data_field` in a serialized Tensor, None if absent or
    not packed."""
    buf = memoryview(serialized)
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _read_varint(buf, pos)
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if number == data_field:
                return buf[pos:pos + length]
            pos += length
        elif wire in (1, 5):
            if number == data_field:
                return None
            pos += 8 if wire == 1 else 4
        else:
            return None
    return None


def from_tensor(tensor: pb.Tensor) -> np.ndarray:
    """A Tensor message as a fresh, writable ndarray of its dtype and shape."""
    dtype = _NUMPY_DTYPE.get(tensor.dtype)
    if dtype is None:
        raise ActserveError(grpc.StatusCode.INTERNAL,
                            f"the server sent a tensor of dtype {tensor.dtype}")
    shape = tuple(tensor.shape)
    data_field = 3 if dtype == np.float32 else 4
    raw = _packed_data(tensor.SerializeToString(), data_field)
    if raw is not None:
        flat = np.frombuffer(bytearray(raw), dtype=dtype.newbyteorder("<")).astype(dtype,
                                                                                   copy=False)
    else:
        flat = np.array(tensor.float_data if data_field == 3 else tensor.double_data, dtype=dtype)
    return flat.reshape(shape)


def to_params(params: Mapping[str, ParamValue]) -> list:
    """Parameter messages for {name: one value or one per channel}."""
    out = []
    for name, value in params.items():
        values = np.asarray(value, dtype=np.float64).ravel().tolist()
        out.append(pb.Parameter(name=name, values=values))
    return out


def from_params(params) -> Dict[str, np.ndarray]:
    """{name: float64 values} for repeated Parameter messages."""
    return {p.name: np.array(p.values, dtype=np.float64) for p in params}
