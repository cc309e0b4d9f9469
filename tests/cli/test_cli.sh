#!/usr/bin/env bash
# The fewerframes command as a user meets it: help, version, a bad flag, and a quick op benchmark whose
# --json output must parse and hold results. Usage: test_cli.sh FEWERFRAMES PYTHON
set -u
fewerframes=$1
python=$2
failures=0
passes=0

expect() {  # expect NAME EXPECTED_STATUS PATTERN -- COMMAND...
  local name=$1 status=$2 pattern=$3
  shift 4
  local output
  output=$("$@" 2>&1)
  local got=$?
  if [ "$got" -ne "$status" ] || ! grep -qE -- "$pattern" <<<"$output"; then
    echo "FAIL $name: exit $got (expected $status), output:"
    echo "$output" | head -20
    failures=$((failures + 1))
  else
    passes=$((passes + 1))
  fi
}

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
  passes=$((passes + 1))
else
  echo "FAIL bench_json: output was: $json" | head -20
  failures=$((failures + 1))
fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
