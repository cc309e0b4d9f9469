#!/usr/bin/python3
"""Writes and checks TFRecord files by the format alone (struct + python3-crc32c), independently of the
C++ code, so the two can check each other.

    write_tfrecord.py write FILE COMPRESSION HEX...   one record per HEX payload ("" or "-" = empty)
    write_tfrecord.py read FILE COMPRESSION           prints each payload as hex, one per line

COMPRESSION is none, gzip (Python's gzip module) or zlib (Python's zlib module). `read` verifies both
masked CRC32C of every record and fails on any framing error. Needs the crc32c module (Debian's
python3-crc32c); exits non-zero with a message saying so when it is missing.
"""
import gzip
import struct
import sys
import zlib

try:
    import crc32c
except ImportError as error:
    sys.exit(f"crc32c cannot be imported by {sys.executable} ({error}); install python3-crc32c")

MASK_DELTA = 0xA282EAD8


def masked_crc(data):
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def frame(payload):
    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", masked_crc(header)) + payload + struct.pack("<I", masked_crc(payload))


def compress(stream, compression):
    if compression == "none":
        return stream
    if compression == "gzip":
        return gzip.compress(stream)
    if compression == "zlib":
        return zlib.compress(stream)
    sys.exit(f"unknown compression {compression!r}")


def decompress(blob, compression):
    if compression == "none":
        return blob
    if compression == "gzip":
        return gzip.decompress(blob)
    if compression == "zlib":
        return zlib.decompress(blob)
    sys.exit(f"unknown compression {compression!r}")


def read_records(stream):
    offset = 0
    while offset < len(stream):
        if len(stream) - offset < 12:
            sys.exit(f"truncated header at offset {offset}")
        header = stream[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", stream[offset + 8 : offset + 12])
        if header_crc != masked_crc(header):
            sys.exit(f"length CRC mismatch at offset {offset}")
        end = offset + 12 + length + 4
        if end > len(stream):
            sys.exit(f"truncated record at offset {offset}")
        payload = stream[offset + 12 : offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", stream[end - 4 : end])
        if payload_crc != masked_crc(payload):
            sys.exit(f"payload CRC mismatch at offset {offset}")
        yield payload
        offset = end


def main(argv):
    if len(argv) < 4 or argv[1] not in ("write", "read"):
        sys.exit(__doc__)
    command, path, compression = argv[1], argv[2], argv[3]
    if command == "write":
        payloads = [bytes.fromhex("" if text == "-" else text) for text in argv[4:]]
        with open(path, "wb") as file:
            file.write(compress(b"".join(frame(payload) for payload in payloads), compression))
    else:
        with open(path, "rb") as file:
            stream = decompress(file.read(), compression)
        for payload in read_records(stream):
            print(payload.hex())


if __name__ == "__main__":
    main(sys.argv)
