#!/usr/bin/python3
"""Writes YouTube-8M records with Python's protobuf library, for the C++ decoders to read back.

    write_youtube8m.py PROTO_FILE RECORDS_FILE EXPECTED_JSON

The message classes are generated from PROTO_FILE (data/proto/example.proto) with protoc into a temporary
directory. RECORDS_FILE is a TFRecord file written by this script's own framing (write_tfrecord.py:
struct and python3-crc32c), independent of the engine's writer. EXPECTED_JSON lists, per record in the same
order: kind ("frame" or "video"), layout ("2018" or "2017"), id (hex of its bytes), labels, and
  frame:  num_frames and, per frame feature, its name, byte count and zlib CRC-32 of the frame bytes
          concatenated frame-major, plus the first frame's bytes in hex;
  video:  per video feature its name and float values (all exactly representable in float32).
Video-level records end with the extra empty field `12 00` that the real files carry.
Needs python3-protobuf and protoc; exits non-zero with a message saying what is missing.
"""
import json
import random
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "data" / "proto"))
from example_proto import load_messages  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from write_tfrecord import frame  # noqa: E402  (TFRecord framing with python3-crc32c)

try:
    import google.protobuf  # noqa: F401
except ImportError as error:
    sys.exit(f"google.protobuf cannot be imported by {sys.executable} ({error}); install python3-protobuf")

LAYOUTS = {
    "2018": {"id_key": "id", "num_classes": 3862},
    "2017": {"id_key": "video_id", "num_classes": 4716},
}
FRAME_FEATURES = [("rgb", 1024), ("audio", 128)]
VIDEO_FEATURES = [("mean_rgb", 1024), ("mean_audio", 128)]


def random_labels(rng, num_classes):
    count = rng.choice([0, 1, 3, 7])
    labels = set(rng.sample(range(num_classes), count))
    if rng.random() < 0.3:
        labels |= {0, num_classes - 1}
    return sorted(labels)


def frame_record(pb, rng, layout_name, num_frames):
    layout = LAYOUTS[layout_name]
    video_id = bytes(rng.randrange(256) for _ in range(rng.choice([4, 11])))
    labels = random_labels(rng, layout["num_classes"])
    example = pb.SequenceExample()
    example.context.feature[layout["id_key"]].bytes_list.value.append(video_id)
    example.context.feature["labels"].int64_list.value.extend(labels)
    expected = {"kind": "frame", "layout": layout_name, "id": video_id.hex(), "labels": labels,
                "num_frames": num_frames, "features": []}
    for name, size in FRAME_FEATURES:
        frames = [bytes(rng.getrandbits(8) for _ in range(size)) for _ in range(num_frames)]
        feature_list = example.feature_lists.feature_list[name]
        for frame in frames:
            feature_list.feature.add().bytes_list.value.append(frame)
        joined = b"".join(frames)
        expected["features"].append({"name": name, "bytes": len(joined), "crc32": zlib.crc32(joined),
                                     "first_frame": frames[0].hex() if frames else ""})
    return example.SerializeToString(), expected


def video_record(pb, rng, layout_name):
    layout = LAYOUTS[layout_name]
    video_id = bytes(rng.randrange(256) for _ in range(4))
    labels = random_labels(rng, layout["num_classes"])
    example = pb.Example()
    example.features.feature[layout["id_key"]].bytes_list.value.append(video_id)
    example.features.feature["labels"].int64_list.value.extend(labels)
    expected = {"kind": "video", "layout": layout_name, "id": video_id.hex(), "labels": labels, "features": []}
    for name, size in VIDEO_FEATURES:
        # Dequantised byte means lie in [-2, 2]; multiples of 1/256 are exact in float32.
        values = [rng.randrange(-512, 513) / 256 for _ in range(size)]
        example.features.feature[name].float_list.value.extend(values)
        expected["features"].append({"name": name, "values": values})
    return example.SerializeToString() + b"\x12\x00", expected


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    proto_file, records_path, expected_path = sys.argv[1:]
    rng = random.Random(20180730)
    with tempfile.TemporaryDirectory() as work_dir:
        pb = load_messages(proto_file, work_dir)
        records = []
        for num_frames in [300, 1, 0, 17]:
            records.append(frame_record(pb, rng, "2018", num_frames))
        records.append(frame_record(pb, rng, "2017", 5))
        for layout_name in ["2018", "2018", "2017"]:
            records.append(video_record(pb, rng, layout_name))
    with open(records_path, "wb") as file:
        for payload, _ in records:
            file.write(frame(payload))
    with open(expected_path, "w") as file:
        json.dump([expected for _, expected in records], file)


if __name__ == "__main__":
    main()
