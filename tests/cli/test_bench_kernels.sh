#!/usr/bin/env bash
# `fewerframes bench kernels` as a user meets it: a quick CPU run whose --json output must parse, hold the
# measured peaks and every registered family, each kernel with a positive time and its fractions of the
# peaks; a family filter; and an unknown family refused with the known ones named.
# Usage: test_bench_kernels.sh FEWERFRAMES PYTHON
set -u
fewerframes=$1
python=$2
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

check() {  # check NAME COMMAND...: passes when the command exits 0
  local name=$1
  shift
  if "$@"; then
    pass
  else
    fail "$name"
  fi
}

json=$("$fewerframes" bench kernels --device cpu --quick --json --repeat 1 2>/dev/null)
check bench_kernels_json "$python" -c 'import json, sys
d = json.loads(sys.argv[1])
assert d["device"] == "cpu", d["device"]
peaks = d["peaks"]
assert peaks["copy_gbps"] > 0 and peaks["gemm_tflops"]["fp32"] > 0, peaks
kernels = d["kernels"]
families = {k["family"] for k in kernels}
assert {"losses", "frames", "gemm", "batch_norm"} <= families, families
for k in kernels:
    assert k["ms"] > 0, k
    assert "fraction_of_copy_peak" in k and "fraction_of_gemm_peak" in k, k
    fractions = [f for f in (k["fraction_of_copy_peak"], k["fraction_of_gemm_peak"]) if f is not None]
    assert fractions and all(f > 0 for f in fractions), k
    if k["bytes"] > 0: assert k["fraction_of_copy_peak"] > 0, k
    if k["flops"] > 0: assert k["fraction_of_gemm_peak"] > 0, k
names = {k["kernel"] for k in kernels}
for expected in ("distillation_loss_forward", "distillation_loss_backward", "dequantize_gather", "gemm_hidden_fc",
                 "batch_norm_forward", "batch_norm_backward"):
    assert expected in names, (expected, names)' "$json" || echo "output was: ${json:0:2000}"

json=$("$fewerframes" bench kernels --device cpu --quick --json --repeat 1 --family losses 2>/dev/null)
check bench_kernels_family "$python" -c 'import json, sys
d = json.loads(sys.argv[1])
assert {k["family"] for k in d["kernels"]} == {"losses"}, d["kernels"]' "$json"

table=$("$fewerframes" bench kernels --device cpu --quick --repeat 1 --family frames 2>/dev/null)
check bench_kernels_table grep -q "dequantize_gather" <<<"$table"

output=$("$fewerframes" bench kernels --device cpu --quick --family nonsense 2>&1)
status=$?
check bench_kernels_unknown_family test "$status" -ne 0
check bench_kernels_unknown_family_message grep -q "known: .*losses" <<<"$output"

summary
