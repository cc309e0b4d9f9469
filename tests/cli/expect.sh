# The pass/fail bookkeeping every CLI test script shares; source it, run the checks, end with `summary`.
# Each check counts once, a failure prints one FAIL line naming it, and the script's exit status is the
# verdict ctest reads.
failures=0
passes=0

pass() {
  passes=$((passes + 1))
}

fail() {  # fail MESSAGE [DETAIL]: a FAIL line, then the first 20 lines of DETAIL (a command's output)
  echo "FAIL $1"
  [ $# -lt 2 ] || head -20 <<<"$2"
  failures=$((failures + 1))
}

expect() {  # expect NAME EXPECTED_STATUS PATTERN -- COMMAND...
  local name=$1 status=$2 pattern=$3
  shift 4
  local output
  output=$("$@" 2>&1)
  local got=$?
  if [ "$got" -ne "$status" ] || ! grep -qE -- "$pattern" <<<"$output"; then
    fail "$name: exit $got (expected $status), output:" "$output"
  else
    pass
  fi
}

summary() {  # the last command of a script, so its status is the script's
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
