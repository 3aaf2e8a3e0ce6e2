"""Minimal safetensors writer and reader (pure python + numpy, no safetensors package).

Layout: u64 little-endian header length n, then n bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}} padded with
spaces so that n is a multiple of 8, then the raw little-endian data of every tensor in
sorted-name order, offsets relative to the start of the data section.
"""

import json
import struct

import numpy as np

DTYPES = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # numpy has no bfloat16: uint16 arrays hold its bit patterns
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}
_NAMES = {dt: name for name, dt in DTYPES.items()}


def dtype_name(array):
    dt = np.dtype(array.dtype).newbyteorder("<")
    if dt not in _NAMES:
        raise ValueError(f"unsupported dtype {array.dtype} (supported: {sorted(DTYPES)})")
    return _NAMES[dt]


def serialize(tensors, metadata=None):
    """tensors: {name: numpy array}; metadata: {str: str}. Returns the file's bytes."""
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("__metadata__ keys and values must be strings")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is not a tensor name")
        array = np.asarray(tensors[name])
        kind = dtype_name(array)
        data = np.ascontiguousarray(array, dtype=DTYPES[kind]).tobytes()
        header[name] = {"dtype": kind, "shape": [int(s) for s in array.shape],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(serialize(tensors, metadata))


def deserialize(blob):
    """Returns ({name: numpy array}, metadata dict). Checks the layout strictly."""
    if len(blob) < 8:
        raise ValueError("file too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("header length runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n:]
    tensors = {}
    end_max = 0
    for name, info in header.items():
        dt = DTYPES[info["dtype"]]
        shape = tuple(int(s) for s in info["shape"])
        begin, end = (int(o) for o in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * dt.itemsize:
            raise ValueError(f"bad data_offsets for {name!r}")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
        end_max = max(end_max, end)
    if end_max != len(data):
        raise ValueError("data section has trailing bytes")
    return tensors, metadata


def load(path):
    with open(path, "rb") as f:
        return deserialize(f.read())
