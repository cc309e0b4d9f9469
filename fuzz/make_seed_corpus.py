#!/usr/bin/python3
"""Writes the seed corpus of the TFRecord fuzz target: small valid files of every compression and the
damaged variants the reader must reject (each under a few hundred bytes).

    make_seed_corpus.py [DIRECTORY]   (default: fuzz/corpus/tfrecord next to this script)

Uses the independent framing of tests/python/write_tfrecord.py (needs python3-crc32c).
"""
import gzip
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
from write_tfrecord import frame, masked_crc  # noqa: E402


def header_with_length(length):
    header = struct.pack("<Q", length)
    return header + struct.pack("<I", masked_crc(header))


def main(directory):
    os.makedirs(directory, exist_ok=True)
    records = [b"first", b"", bytes(range(40)), b"\x0a\x05hello\x12\x00", b"x" * 300]
    stream = b"".join(frame(payload) for payload in records)
    second = len(frame(records[0]))

    def flipped(data, index):
        return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]

    files = {
        "empty": b"",
        "valid_plain": stream,
        "valid_one_empty_record": frame(b""),
        "valid_gzip": gzip.compress(stream, mtime=0),
        "valid_zlib": zlib.compress(stream),
        "valid_gzip_two_members": gzip.compress(stream[:second], mtime=0) + gzip.compress(stream[second:], mtime=0),
        "truncated_header": stream[: second + 5],
        "truncated_payload": stream[: second + 14],
        "bad_header_crc": flipped(stream, second + 9),
        "bad_length": flipped(stream, second + 1),
        "bad_payload_crc": flipped(stream, second + 12 + 1),
        "huge_length_valid_crc": header_with_length(1 << 40) + b"tail",
        "length_above_payload": header_with_length(4096) + b"short payload",
        "gzip_truncated": gzip.compress(stream, mtime=0)[:-10],
        "gzip_bad_check": flipped(gzip.compress(stream, mtime=0), -8 % len(gzip.compress(stream, mtime=0))),
        "zlib_trailing_bytes": zlib.compress(stream) + b"junk",
        "gzip_of_damaged_stream": gzip.compress(flipped(stream, second + 12 + 1), mtime=0),
    }
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as file:
            file.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "tfrecord"))
