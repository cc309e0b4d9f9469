#!/usr/bin/env bash
# The fewerframes command as a user meets it: help, version, a bad flag, and a quick op benchmark whose
# --json output must parse and hold results. Usage: test_cli.sh FEWERFRAMES PYTHON
set -u
fewerframes=$1
python=$2
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

expect help 0 "bench" -- "$fewerframes" --help
expect version 0 "fewerframes [0-9]+\.[0-9]+" -- "$fewerframes" --version
expect no_subcommand 106 "subcommand" -- "$fewerframes"
expect bad_device 105 "--device" -- "$fewerframes" bench ops --device tpu
expect bench_table 0 "matmul square" -- "$fewerframes" bench ops --quick --device cpu --repeat 1

json=$("$fewerframes" bench ops --quick --device cpu --repeat 1 --json 2>/dev/null)
if "$python" -c 'import json, sys
d = json.loads(sys.argv[1])
assert d["results"], "no results"
assert all(r["device"] == "cpu" and r["ms"] > 0 for r in d["results"]), d["results"]
assert any("gflops" in r for r in d["results"]) and any("gbps" in r for r in d["results"])' "$json"; then
  pass
else
  fail "bench_json: output was:" "$json"
fi

# make-data -> inspect, as a newcomer would run them.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
expect make_data 0 "wrote 9 videos" -- "$fewerframes" make-data --out "$work/y8m" --train 6 --validate 3 \
  --videos-per-shard 4 --classes 50 --max-frames 80
expect make_data_names 0 "train0001.tfrecord" -- ls "$work/y8m/frame" "$work/y8m/video"
expect inspect_check 0 "ok: 18 records in 6 files" -- "$fewerframes" inspect --check "$work/y8m/*/*.tfrecord"
expect inspect_list 0 "labels per video" -- "$fewerframes" inspect "$work/y8m/frame/train0000.tfrecord"
expect inspect_bad_glob 1 "no file matches" -- "$fewerframes" inspect "$work/nothing*.tfrecord"
expect make_data_same_seed 0 "" -- "$fewerframes" make-data --out "$work/again" --train 6 --validate 3 \
  --videos-per-shard 4 --classes 50 --max-frames 80
expect make_data_reproducible 0 "" -- cmp "$work/y8m/frame/train0001.tfrecord" "$work/again/frame/train0001.tfrecord"
expect train_dry_run 0 "parameters: 88,?889,?378" -- "$fewerframes" train --dry-run
expect train_dry_run_moe 0 "parameters: 120,?542,?330" -- "$fewerframes" train --dry-run --classifier moe
expect train_dry_run_netvlad 0 "parameters: 294,?458,?006" -- "$fewerframes" train --dry-run --aggregation netvlad
# Three default branches and the gate (BN over 1152 features, FC 1152 -> 3 with bias).
expect train_dry_run_ensemble 0 "parameters: 266,?673,?897" -- "$fewerframes" train --dry-run --ensemble 3
expect train_ensemble_range 105 "ensemble" -- "$fewerframes" train --dry-run --ensemble 17
expect train_ensemble_flags_alone 1 "--ensemble-temperature .*needs --ensemble 2 or more" -- "$fewerframes" train \
  --dry-run --ensemble-temperature 2
expect train_ensemble_bad_temperature 1 "ensemble temperature must be finite and > 0" -- "$fewerframes" train \
  --dry-run --ensemble 2 --ensemble-temperature 0
expect train_bad_classifier 105 "--classifier" -- "$fewerframes" train --dry-run --classifier softmax

json=$("$fewerframes" inspect --json "$work/y8m/frame/train0000.tfrecord" 2>/dev/null)
if "$python" -c 'import json, sys
rows = [json.loads(line) for line in sys.argv[1].splitlines()]
assert len(rows) == 4, len(rows)
for r in rows:
    assert {"file", "offset", "id", "labels", "frames"} <= set(r), r
assert rows[0]["offset"] == 0 and rows[1]["offset"] > 0' "$json"; then
  pass
else
  fail "inspect_json:" "$json"
fi

# One flipped byte inside the second record: --check names the file and that record's offset.
cp "$work/y8m/frame/validate0000.tfrecord" "$work/damaged.tfrecord"
second=$("$fewerframes" inspect --json "$work/damaged.tfrecord" 2>/dev/null | sed -n 2p | "$python" -c 'import json, sys; print(json.load(sys.stdin)["offset"])')
printf '\x00' | dd of="$work/damaged.tfrecord" bs=1 seek=$((second + 40)) conv=notrunc status=none
expect inspect_damaged 1 "damaged.tfrecord: offset $second: corrupted record" -- "$fewerframes" inspect --check "$work/damaged.tfrecord"

expect inspect_skip_corrupt 0 "ok: 2 records in 1 files.*1 corrupt skipped" -- "$fewerframes" inspect --check \
  --skip-corrupt "$work/damaged.tfrecord"

# The other container and layout options, end to end.
expect make_data_gzip_2017 0 "layout 2017 \(4716 classes\).*compression gzip" -- "$fewerframes" make-data \
  --out "$work/gz" --train 3 --validate 0 --layout 2017 --compression gzip --level frame --max-frames 70
expect inspect_gzip_2017 0 "ok: 3 records" -- "$fewerframes" inspect --check --compression gzip --layout 2017 \
  "$work/gz/frame/train0000.tfrecord"
expect inspect_gzip_as_plain 1 "offset 0: corrupted record" -- "$fewerframes" inspect --check "$work/gz/frame/train0000.tfrecord"

# A tiny teacher run with validation: the JSONL log and the TensorBoard event file both get the numbers.
tiny=(--cluster-size 4 --groups 2 --hidden 16 --gating-reduction 2 --batch-size 3 --reader-threads 1)
expect train_tiny 0 "trained 4 steps" -- "$fewerframes" train --train "$work/y8m/frame/train*.tfrecord" \
  --validate "$work/y8m/frame/validate*.tfrecord" --run-dir "$work/run" --steps 4 --log-every 2 \
  --validate-every 4 "${tiny[@]}"
expect train_log 0 "validation_gap" -- cat "$work/run/log.jsonl"
expect train_config 0 '"cluster-size": 4' -- cat "$work/run/config.json"
# The event file is TFRecord framing around Event protos: walk the records and look for the tags.
if "$python" -c 'import glob, struct, sys
paths = glob.glob(sys.argv[1] + "/events.out.tfevents.*")
assert len(paths) == 1, paths
data = open(paths[0], "rb").read()
offset, records = 0, []
while offset < len(data):
    (length,) = struct.unpack_from("<Q", data, offset)
    records.append(data[offset + 12: offset + 12 + length])
    offset += 12 + length + 4
assert b"brain.Event:2" in records[0], records[0]
body = b"".join(records[1:])
for tag in (b"train/loss", b"train/label_loss", b"train/learning_rate", b"validation/gap", b"validation/map"):
    assert tag in body, tag
assert b"teacher_label_loss" not in body  # only parallel runs have a co-trained teacher
' "$work/run"; then
  pass
else
  fail train_event_file
fi
expect train_resume_done 0 "trained 4 steps" -- "$fewerframes" train --train "$work/y8m/frame/train*.tfrecord" \
  --run-dir "$work/run" --steps 4 --resume "$work/run/checkpoint.safetensors" "${tiny[@]}"
expect train_missing_data 1 "no training video|no file|matches no" -- "$fewerframes" train \
  --train "$work/none/*.tfrecord" --run-dir "$work/run2" --steps 1 "${tiny[@]}"

# The README's main command, shrunk: three runs, the table and results.json.
expect demo_tiny 0 "Student-5 .*\\|" -- "$fewerframes" demo --out "$work/demo" --device cpu --k 5 --classes 6 \
  --train-videos 24 --validate-videos 12 --min-frames 10 --max-frames 30 --teacher-steps 2 --student-steps 2 \
  --batch-size 8 --reader-threads 1
expect demo_results 0 '"model": "Uniform-5"' -- cat "$work/demo/results.json"
expect demo_bad_k 1 "--k must lie" -- "$fewerframes" demo --out "$work/demo2" --k 50 --min-frames 10

expect bench_loader 0 "Python protobuf" -- "$fewerframes" bench loader --videos 12 --seconds 0.2 --threads 2

summary
