#!/usr/bin/env bash
# `fewerframes bench train` as a user meets it: a quick CPU run without the peer whose --json output must
# parse and hold a timed result for every configuration, and the flags it refuses.
# Usage: test_bench_train.sh FEWERFRAMES PYTHON
set -u
fewerframes=$1
python=$2
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

expect help 0 "--batch-sizes" -- "$fewerframes" bench train --help
expect bf16_needs_cuda 1 "bf16 needs --device cuda" -- "$fewerframes" bench train --device cpu --quick --precision bf16
expect unknown_precision 105 "not a precision" -- "$fewerframes" bench train --device cpu --precision fp8
expect tf32_needs_cuda 1 "tf32 needs --device cuda" -- "$fewerframes" bench train --device cpu --quick --precision tf32
expect k_too_large 1 "--k-values: 31 is outside" -- "$fewerframes" bench train --device cpu --quick --k-values 31
expect missing_peer_script 1 "--peer-script: no such file" -- "$fewerframes" bench train --device cpu --quick \
  --models teacher --batch-sizes 4 --steps 1 --warmup 0 --peer-script /nonexistent/bench_train_torch.py

# An interpreter that does not exist: the peer is reported unavailable and the run still succeeds.
expect peer_unavailable 0 "PyTorch peer: no interpreter at /nonexistent/python3" -- "$fewerframes" bench train \
  --device cpu --quick --models teacher --batch-sizes 4 --steps 1 --warmup 0 --python /nonexistent/python3

# A private temporary folder: the shards go there, and it must be empty again afterwards.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tmp"
json=$(TMPDIR=$work/tmp "$fewerframes" bench train --device cpu --quick --json --no-peer --batch-sizes 4,8 --k-values 5,10 \
  --steps 2 --warmup 1 2>/dev/null)
if "$python" -c 'import json, sys
d = json.loads(sys.argv[1])
assert d["device"] == "cpu" and d["quick"] is True and d["precision"] == "fp32", d
assert d["peer"]["status"] == "skipped", d["peer"]
assert d["data"]["videos"] >= 8 and d["data"]["mean_frames"] > 0, d["data"]
rows = d["results"]
cases = sorted((r["model"], r["k"] or 0, r["batch"]) for r in rows)
assert cases == [("student", 5, 4), ("student", 5, 8), ("student", 10, 4), ("student", 10, 8),
                 ("teacher", 0, 4), ("teacher", 0, 8)], cases
for r in rows:
    ff = r["fewerframes"]
    assert "error" not in ff, r
    assert ff["steps"] == 2 and ff["ms_per_step"] > 0 and ff["videos_per_s"] > 0, r
    assert abs(ff["videos_per_s"] * ff["ms_per_step"] / 1e3 - r["batch"]) < 1e-6 * r["batch"], r
    assert 0 <= ff["loader_wait_ms_per_step"] + ff["to_device_ms_per_step"] <= ff["ms_per_step"], r
    assert ff["last_loss"] == ff["last_loss"] and ff["last_loss"] > 0, r
    assert r["frames"] == (r["k"] if r["model"] == "student" else d["model_config"]["max_frames"]), r
    assert r["torch_eager"] is None and r["ratio_vs_compile"] is None, r' "$json"; then
  pass
else
  fail "bench_train_json: output was:" "$json"
fi

# No temporary shards or teacher checkpoint are left behind.
if [ -n "$(ls -A "$work/tmp")" ]; then
  fail "cleanup: left $(ls -A "$work/tmp")"
else
  pass
fi

# The table on stdout and the same results as JSON in a file.
expect table_and_json_out 0 "teacher +40 +4 " -- "$fewerframes" bench train --device cpu --quick --no-peer \
  --models teacher --batch-sizes 4 --steps 1 --warmup 0 --json-out "$work/train.json"
if "$python" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert [r["batch"] for r in d["results"]] == [4] and d["results"][0]["fewerframes"]["videos_per_s"] > 0, d' \
  "$work/train.json"; then
  pass
else
  fail "json_out:" "$(head -c 2000 "$work/train.json" 2>&1)"
fi

# With the peer, eager only (seconds), where this interpreter has PyTorch: its figures and the ratios.
if "$python" -c 'import torch' 2>/dev/null; then
  json=$(TMPDIR=$work/tmp "$fewerframes" bench train --device cpu --quick --json --python "$python" \
    --peer-impls eager --batch-sizes 4 --k-values 5 --steps 1 --warmup 1 2>/dev/null)
  if "$python" -c 'import json, sys
d = json.loads(sys.argv[1])
assert d["peer"]["status"] == "ran" and d["peer"]["info"]["device"] == "cpu", d["peer"]
for r in d["results"]:
    eager = r["torch_eager"]
    assert eager["videos_per_s"] > 0 and eager["ms_per_step"] > 0, r
    ratio = r["fewerframes"]["videos_per_s"] / eager["videos_per_s"]
    assert abs(r["ratio_vs_eager"] - ratio) < 1e-9 * ratio, r
    assert r["torch_compile"] is None and r["ratio_vs_compile"] is None, r' "$json"; then
    pass
  else
    fail "bench_train_peer: output was:" "$json"
  fi
else
  echo "note: $python has no PyTorch; the peer check did not run"
fi

summary
