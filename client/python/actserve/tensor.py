"""NumPy arrays to and from actserve.v1.Tensor.

An array is sent as its little-endian float32 or float64 elements in row-major order, whatever
its strides; integer, boolean, float16 and complex arrays are refused rather than converted, so
that a call never silently changes precision. Results come back as fresh, writable arrays of the
dtype that was sent.

Tensors are written and read in protobuf's wire format directly (a packed repeated float field
is exactly its elements' little-endian bytes): the generated classes copy large repeated fields
element by element, which costs milliseconds per mebibyte.
"""
from typing import Dict, Iterator, Mapping, Sequence, Tuple, Union

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


def encode_tensor(field: str, value: ArrayLike) -> bytes:
    """The serialized Tensor message for an array (see as_float_array for what is refused)."""
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
    return b"".join(parts)


def to_tensor(field: str, value: ArrayLike) -> pb.Tensor:
    """The Tensor message for an array (see as_float_array for what is refused)."""
    return pb.Tensor.FromString(encode_tensor(field, value))


def _read_varint(buf: memoryview, pos: int):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def wire_fields(buf) -> Iterator[Tuple[int, int, object]]:
    """(field number, wire type, value) for each field of a serialized message: an int for
    varints, a memoryview for length-delimited fields, bytes for fixed-size ones."""
    buf = memoryview(buf)
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = bytes(buf[pos:pos + size]), pos + size
        else:
            raise ActserveError(grpc.StatusCode.INTERNAL,
                                f"the server sent a message with wire type {wire}")
        yield number, wire, value


def decode_tensor(buf) -> np.ndarray:
    """A serialized Tensor message as a fresh, writable ndarray of its dtype and shape."""
    shape, dtype, chunks = [], pb.DTYPE_UNSPECIFIED, []
    for number, wire, value in wire_fields(buf):
        if number == 1 and wire == 2:  # packed dimensions
            pos = 0
            while pos < len(value):
                d, pos = _read_varint(value, pos)
                shape.append(d)
        elif number == 1:
            shape.append(value)
        elif number == 2:
            dtype = value
        elif number in (3, 4):
            chunks.append((number, value))
    np_dtype = _NUMPY_DTYPE.get(dtype)
    if np_dtype is None:
        raise ActserveError(grpc.StatusCode.INTERNAL,
                            f"the server sent a tensor of dtype {dtype}")
    data_field = 3 if np_dtype == np.float32 else 4
    chunks = [v for n, v in chunks if n == data_field]
    data = bytearray(chunks[0]) if len(chunks) == 1 else bytearray(b"".join(chunks))
    flat = np.frombuffer(data, dtype=np_dtype.newbyteorder("<"))
    return flat.astype(np_dtype, copy=False).reshape(shape)


def from_tensor(tensor: pb.Tensor) -> np.ndarray:
    """A Tensor message as a fresh, writable ndarray of its dtype and shape."""
    return decode_tensor(tensor.SerializeToString())


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
