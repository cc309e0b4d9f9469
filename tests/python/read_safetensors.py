#!/usr/bin/python3
"""Reads a safetensors file by the format alone (no safetensors package) and prints it as JSON.

    read_safetensors.py FILE

Output: {"metadata": {...}, "tensors": [{"name", "dtype", "shape", "values"}, ...]} with the tensors in
data order and the values flattened row-major as floats (bfloat16 widened to float32 by shifting its bits
into the upper half). It also checks the layout the C++ writer promises: an 8-byte aligned data start and
tensors that tile the data without gaps. Needs numpy; exits non-zero with a message saying so when it is missing.
"""
import json
import struct
import sys

try:
    import numpy as np
except ImportError as error:
    sys.exit(f"numpy cannot be imported by {sys.executable} ({error}); install python3-numpy")

NUMPY_DTYPES = {"F32": "<f4", "F64": "<f8", "U8": "u1", "I32": "<i4", "I64": "<i8", "BF16": "<u2"}


def bf16_bits_to_float32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def read(path):
    with open(path, "rb") as file:
        blob = file.read()
    (header_length,) = struct.unpack("<Q", blob[:8])
    if (8 + header_length) % 8 != 0:
        raise ValueError(f"data starts at byte {8 + header_length}, not 8-byte aligned")
    header = json.loads(blob[8 : 8 + header_length].decode("utf-8"))
    data = blob[8 + header_length :]
    metadata = header.pop("__metadata__", {})

    tensors = []
    entries = sorted(header.items(), key=lambda item: tuple(item[1]["data_offsets"]))
    expected_begin = 0
    for name, entry in entries:
        begin, end = entry["data_offsets"]
        if begin != expected_begin:
            raise ValueError(f"{name}: data begins at {begin}, expected {expected_begin}")
        expected_begin = end
        raw = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPES[entry["dtype"]])
        values = bf16_bits_to_float32(raw) if entry["dtype"] == "BF16" else raw
        count = int(np.prod(entry["shape"], dtype=np.int64))
        if values.size != count:
            raise ValueError(f"{name}: {values.size} values for shape {entry['shape']}")
        tensors.append(
            {
                "name": name,
                "dtype": entry["dtype"],
                "shape": entry["shape"],
                "values": [float(v) for v in values.reshape(-1)],
            }
        )
    if expected_begin != len(data):
        raise ValueError(f"{len(data) - expected_begin} bytes after the last tensor")
    return {"metadata": metadata, "tensors": tensors}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(read(sys.argv[1])))
