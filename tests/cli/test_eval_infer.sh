#!/usr/bin/env bash
# eval and infer as a user meets them: a tiny synthetic data set, a teacher trained for a few steps, its
# metrics as text and JSON, a Kaggle CSV from infer that scores the same GAP as the checkpoint, and the
# errors a user can make. Usage: test_eval_infer.sh FEWERFRAMES PYTHON
set -u
fewerframes=$1
python=$2
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

check_python() {  # check_python NAME SCRIPT ARGS...: the script's assertions decide
  local name=$1 script=$2
  shift 2
  local output
  if output=$("$python" -c "$script" "$@" 2>&1); then
    pass
  else
    fail "$name:" "$(tail -8 <<<"$output")"
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/y8m/frame/validate*.tfrecord"

# 12 classes: infer's 20 pairs cover every class, so the CSV holds all the scores the metrics keep.
expect make_data 0 "wrote 40 videos" -- "$fewerframes" make-data --out "$work/y8m" --train 24 --validate 16 \
  --videos-per-shard 8 --classes 12 --min-frames 10 --max-frames 30 --level frame
expect train 0 "trained 4 steps" -- "$fewerframes" train --train "$work/y8m/frame/train*.tfrecord" \
  --run-dir "$work/run" --classes 12 --max-frames 30 --cluster-size 4 --groups 2 --hidden 16 \
  --gating-reduction 4 --batch-size 8 --steps 4 --learning-rate 0.01
checkpoint="$work/run/checkpoint.safetensors"

# An ensemble of three: its log carries the on-the-fly distillation terms, and eval rebuilds all three
# branches and the gate from the checkpoint's model config.
expect train_ensemble 0 "trained 3 steps" -- "$fewerframes" train --train "$work/y8m/frame/train*.tfrecord" \
  --run-dir "$work/ensemble" --classes 12 --max-frames 30 --cluster-size 4 --groups 2 --hidden 16 \
  --gating-reduction 4 --batch-size 8 --steps 3 --log-every 1 --learning-rate 0.01 --ensemble 3
expect train_ensemble_log 0 '"ensemble_kl":' -- cat "$work/ensemble/log.jsonl"
expect eval_ensemble 0 "^GAP@12 +0\.[0-9]{6}$" -- "$fewerframes" eval --checkpoint "$work/ensemble/checkpoint.safetensors" \
  --data "$data"

expect eval_metrics 0 "^GAP@12 +0\.[0-9]{6}$" -- "$fewerframes" eval --checkpoint "$checkpoint" --data "$data"
expect eval_table 0 "^  top 10 +0\.[0-9]{6} +0\.[0-9]{6} +0\.[0-9]{6} +[0-9]+$" -- "$fewerframes" eval \
  --checkpoint "$checkpoint" --data "$data" --count-files "$work/y8m/frame/train*.tfrecord" --group-sizes 5,10
"$fewerframes" eval --checkpoint "$checkpoint" --data "$data" --json --count-files "$work/y8m/frame/train*.tfrecord" \
  --group-sizes 5,10 >"$work/eval.json" 2>/dev/null
check_python eval_json 'import json, sys
d = json.load(open(sys.argv[1]))
for key in ("gap", "map", "hit_at_1", "perr"):
    assert 0 <= d[key] <= 1, (key, d[key])
assert d["videos"] == 16, d["videos"]
assert d["mode"] == "teacher" and d["num_classes"] == 12, d
groups = [(g["group"], g["r"]) for g in d["frequency_groups"]]
assert groups == [("rare", 5), ("frequent", 5), ("rare", 10), ("frequent", 10)], groups
assert all(0 <= g["gap"] <= 1 for g in d["frequency_groups"])' "$work/eval.json"

expect infer 0 "wrote 16 videos" -- "$fewerframes" infer --checkpoint "$checkpoint" --data "$data" \
  --output "$work/predictions.csv"
check_python infer_csv 'import sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0] == "VideoId,LabelConfidencePairs", lines[0]
assert lines[-1] == "", "the file must end with a newline"
rows = lines[1:-1]
assert len(rows) == 16, len(rows)
for row in rows:
    video, pairs = row.split(",")
    fields = pairs.split(" ")
    labels, scores = [int(x) for x in fields[0::2]], [float(x) for x in fields[1::2]]
    assert len(labels) == 12 and sorted(labels) == list(range(12)), row  # fewer classes than 20
    assert scores == sorted(scores, reverse=True), row
    assert all(0 <= s <= 1 for s in scores), row' "$work/predictions.csv"
expect infer_top_3 0 "top 3 classes" -- "$fewerframes" infer --checkpoint "$checkpoint" --data "$data" \
  --output "$work/top3.csv" --top-k 3
check_python infer_top_3_pairs 'import sys
rows = open(sys.argv[1]).read().splitlines()[1:]
assert all(len(r.split(",")[1].split(" ")) == 6 for r in rows), rows[:2]' "$work/top3.csv"

"$fewerframes" eval --predictions "$work/predictions.csv" --classes 12 --data "$data" --json >"$work/csv.json" 2>/dev/null
check_python csv_matches_checkpoint 'import json, sys
model, csv = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert csv["videos"] == model["videos"], (csv["videos"], model["videos"])
for key in ("gap", "map", "hit_at_1", "perr"):
    assert abs(csv[key] - model[key]) < 1e-4, (key, csv[key], model[key])
assert csv["videos_missing"] == 0 and csv["unused_rows"] == 0' "$work/eval.json" "$work/csv.json"

# Errors: one line naming the file, line, video or flag at fault.
expect missing_checkpoint 1 "cannot open checkpoint .*absent.safetensors" -- "$fewerframes" eval \
  --checkpoint "$work/absent.safetensors" --data "$data"
expect no_source 1 "exactly one of --checkpoint" -- "$fewerframes" eval --data "$data"
expect bad_glob 1 "no file matches" -- "$fewerframes" eval --checkpoint "$checkpoint" --data "$work/nothing*.tfrecord"
sed '3s/,\([0-9]*\) /,\1 x/' "$work/predictions.csv" >"$work/bad.csv"
expect bad_csv_line 1 "bad.csv:3: video .*: score 'x" -- "$fewerframes" eval --predictions "$work/bad.csv" \
  --classes 12 --data "$data"
expect label_out_of_range 1 "predictions.csv:2: .*not an integer in \[0, 5\)" -- "$fewerframes" eval \
  --predictions "$work/predictions.csv" --classes 5 --data "$data"
missing=$(sed -n 2p "$work/predictions.csv" | cut -d, -f1)
sed 2d "$work/predictions.csv" >"$work/partial.csv"
expect unknown_video 1 "video $missing \(.*validate0000.tfrecord: offset 0\) has no row in the predictions" -- \
  "$fewerframes" eval --predictions "$work/partial.csv" --classes 12 --data "$data"
expect allow_missing 0 "15 videos.*1 videos without a prediction row" -- "$fewerframes" eval \
  --predictions "$work/partial.csv" --classes 12 --data "$data" --allow-missing
expect flag_for_checkpoint_only 1 "--k applies to --checkpoint" -- "$fewerframes" eval \
  --predictions "$work/predictions.csv" --classes 12 --data "$data" --k 3
expect student_view 0 "uniform k=3" -- "$fewerframes" eval --checkpoint "$checkpoint" --data "$data" --k 3
expect infer_needs_output 106 "--output" -- "$fewerframes" infer --checkpoint "$checkpoint" --data "$data"
expect no_partial_csv 1 "cannot open checkpoint" -- "$fewerframes" infer --checkpoint "$work/absent.safetensors" \
  --data "$data" --output "$work/never.csv"
expect no_partial_csv_file 1 "" -- test -e "$work/never.csv"

summary
