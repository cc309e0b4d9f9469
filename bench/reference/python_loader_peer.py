#!/usr/bin/python3
"""The peer of `fewerframes bench loader`: the same work in Python, the way Python YouTube-8M pipelines
do it (tf.data-style framing with CRC checks, then SequenceExample.FromString per record, as
ceshine/yt8m-2019 and the protobuf-based readers do): read each TFRecord, check both masked CRC32Cs,
parse the payload with the protobuf package, take the id and labels, and pick k uniformly spaced frames
of rgb and audio (the same index rule as the engine: floor((2i+1)N/(2k))).

    python_loader_peer.py PROTO_FILE K SECONDS FILE...

Prints one JSON object: records, payload bytes, seconds, frames picked, and which protobuf backend ran.
Stops after SECONDS (at a record boundary) so a slow peer cannot stall the benchmark.
Needs python3-protobuf, python3-crc32c and protoc.
"""
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "data" / "proto"))
from example_proto import load_messages  # noqa: E402

try:
    import crc32c
    from google.protobuf.internal import api_implementation
except ImportError as error:
    sys.exit(f"{sys.executable} cannot import {error.name}; install python3-protobuf and python3-crc32c")


def masked_crc(data):
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if not header:
                return
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc(header[:8]) != length_crc:
                raise ValueError(f"{path}: corrupted record header")
            payload = f.read(length)
            (payload_crc,) = struct.unpack("<I", f.read(4))
            if masked_crc(payload) != payload_crc:
                raise ValueError(f"{path}: corrupted record payload")
            yield payload


def main():
    proto_file, k, seconds, files = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    with tempfile.TemporaryDirectory() as work_dir:
        pb = load_messages(proto_file, work_dir)
        count = payload_bytes = frames_picked = 0
        start = time.perf_counter()
        elapsed = 0.0
        for path in files:
            for payload in records(path):
                example = pb.SequenceExample.FromString(payload)
                context = example.context.feature
                video_id = context["id"].bytes_list.value[0]
                labels = list(context["labels"].int64_list.value)
                lists = example.feature_lists.feature_list
                rgb, audio = lists["rgb"].feature, lists["audio"].feature
                n = min(len(rgb), 300)
                picks = [(2 * i + 1) * n // (2 * k) for i in range(k)] if n >= k else list(range(n))
                frames = [(rgb[i].bytes_list.value[0], audio[i].bytes_list.value[0]) for i in picks]
                frames_picked += len(frames)
                count += 1
                payload_bytes += len(payload) + 16
                del video_id, labels
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    break
            if elapsed >= seconds:
                break
        print(json.dumps({"records": count, "bytes": payload_bytes, "seconds": elapsed, "frames_picked": frames_picked,
                          "protobuf_backend": api_implementation.Type()}))


if __name__ == "__main__":
    main()
