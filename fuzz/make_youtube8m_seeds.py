#!/usr/bin/python3
"""Writes YouTube-8M seeds for the fuzz target's second stage: TFRecord files holding small frame- and
video-level records in the fuzzer's layout (rgb 4 bytes, audio 2 bytes per frame; 10 classes), valid
ones and a few that the decoders must reject. The protobuf bytes are built by hand from the wire rules,
so this needs no protobuf package.

    make_youtube8m_seeds.py [DIRECTORY]   (default: fuzz/corpus/tfrecord next to this script)
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
from write_tfrecord import frame  # noqa: E402


def varint(value):
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number, payload):  # length-delimited
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def bytes_feature(*values):
    return field(1, b"".join(field(1, v) for v in values))


def int64_feature(values, packed=True):
    if packed:
        return field(3, field(1, b"".join(varint(v) for v in values)))
    return field(3, b"".join(varint(1 << 3) + varint(v) for v in values))


def float_feature(values):
    return field(2, field(1, b"".join(struct.pack("<f", v) for v in values)))


def entry(key, value):
    return field(1, field(1, key.encode()) + field(2, value))


def frame_level(video_id, labels, rgb, audio, packed=True):
    context = entry("id", bytes_feature(video_id)) + entry("labels", int64_feature(labels, packed))
    lists = entry("rgb", b"".join(field(1, bytes_feature(f)) for f in rgb))
    lists += entry("audio", b"".join(field(1, bytes_feature(f)) for f in audio))
    return field(1, context) + field(2, lists)


def video_level(video_id, labels, mean_rgb, mean_audio):
    features = entry("id", bytes_feature(video_id)) + entry("labels", int64_feature(labels))
    features += entry("mean_rgb", float_feature(mean_rgb)) + entry("mean_audio", float_feature(mean_audio))
    return field(1, features) + b"\x12\x00"  # the real files' trailing empty field


def main(directory):
    os.makedirs(directory, exist_ok=True)
    rgb = [bytes([1, 2, 3, 4]), bytes([250, 0, 7, 128])]
    audio = [bytes([9, 8]), bytes([0, 255])]
    seeds = {
        "y8m_frame_level": [frame_level(b"ab", [1, 3], rgb, audio), frame_level(b"cd", [0], rgb[:1], audio[:1])],
        "y8m_unpacked_labels": [frame_level(b"ef", [2, 9], rgb, audio, packed=False)],
        "y8m_no_frames": [frame_level(b"gh", [4], [], [])],
        "y8m_video_level": [video_level(b"ij", [5], [0.5, -1.0, 2.0, 0.0], [1.5, -2.0])],
        "y8m_label_out_of_range": [frame_level(b"kl", [12], rgb, audio)],
        "y8m_frame_counts_differ": [frame_level(b"mn", [1], rgb, audio[:1])],
    }
    for name, records in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(b"".join(frame(r) for r in records))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "tfrecord"))
