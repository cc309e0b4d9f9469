#!/usr/bin/env bash
# Builds a self-contained bundle for GPU nodes that have the NVIDIA driver, the CUDA 13 toolkit and PyTorch
# but none of this project's build dependencies (docs/gpu_bundle.md):
#
#   bundle/bin/fewerframes, bundle/tests/ff_gpu_tests   stripped, built here (Release, CUDA, sm_90)
#   bundle/lib/                                       the non-CUDA shared libraries they need (from ldd)
#   bundle/bench/reference/*.py                       the PyTorch peers (bench train finds them here)
#   bundle/bin/peer_python                            runs the peer's python3 without the bundle's libraries
#   bundle/run_gpu_checks.sh                          on the node: GPU tests and benchmarks into one report
#
# Left out on purpose: glibc (libc, libm, libdl, libpthread, librt, ld-linux) and the CUDA libraries
# (libcuda, libcudart, libcublas*), which the node has and which must match its driver. cuDNN is not linked
# at all: the binaries open libcudnn.so.9 at run time (kernels/batch_norm_cudnn.h) and work without it;
# run_gpu_checks.sh looks for it on the node.
#
#   scripts/make_gpu_bundle.sh [--build-dir DIR] [--out DIR] [--jobs N]   build and gather (default bundle/)
#   scripts/make_gpu_bundle.sh --check [--out DIR]                         verify an existing bundle here
#
# --check needs no GPU: every library of the bundle's binaries must resolve with the bundle's
# LD_LIBRARY_PATH (nothing "not found" but CUDA driver libraries, nothing non-system resolved outside
# bundle/lib), no binary may link libcudnn, and ff_gpu_tests must exit 77 (skipped) on a machine without a
# GPU.
set -euo pipefail

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$source_dir/build-bundle
out=$source_dir/bundle
jobs=2
check_only=0
max_bytes=$((64 * 1024 * 1024))

while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --check) check_only=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make_gpu_bundle.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

binaries=(bin/fewerframes tests/ff_gpu_tests)

# Libraries the node provides: glibc's and the driver's and toolkit's own.
is_node_library() {
  case $1 in
    linux-vdso.so* | ld-linux*.so* | libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | \
      libresolv.so* | libutil.so* | libcuda.so* | libcudart.so* | libcublas.so* | libcublasLt.so* | \
      libcudnn*.so* | libnvidia-*.so*) return 0 ;;
    *) return 1 ;;
  esac
}

# The CUDA library folders of a standard toolkit install; the node's are under /usr/local/cuda too.
cuda_library_path=/usr/local/cuda/lib64:/usr/local/cuda/lib:/usr/local/cuda/targets/x86_64-linux/lib

check_bundle() {
  local failures=0 binary line name path
  [ -d "$out" ] || { echo "check: no bundle at $out" >&2; return 1; }
  for binary in "${binaries[@]}"; do
    [ -x "$out/$binary" ] || { echo "check FAIL: $out/$binary is missing" >&2; failures=$((failures + 1)); continue; }
    while IFS= read -r line; do
      name=$(awk '{print $1}' <<<"$line")
      if grep -q "not found" <<<"$line"; then
        if is_node_library "$name"; then
          echo "check: $binary: $name not found here (the GPU node provides it)"
        else
          echo "check FAIL: $binary: $name not found" >&2
          failures=$((failures + 1))
        fi
        continue
      fi
      path=$(sed -n 's/.*=> \(\/[^ ]*\) (.*/\1/p' <<<"$line")
      if [ -n "$path" ] && ! is_node_library "$name" && [ "$(dirname "$(realpath "$path")")" != "$(realpath "$out/lib")" ]; then
        echo "check FAIL: $binary: $name resolved outside the bundle ($path)" >&2
        failures=$((failures + 1))
      fi
    done < <(LD_LIBRARY_PATH="$out/lib:$cuda_library_path" ldd "$out/$binary")
    # cuDNN must be opened at run time, never linked: a node without it must still run the bundle.
    if objdump -p "$out/$binary" | grep -q 'NEEDED *libcudnn'; then
      echo "check FAIL: $binary links libcudnn (it must only dlopen libcudnn.so.9)" >&2
      failures=$((failures + 1))
    fi
    if grep -q "built without cuDNN headers" "$out/$binary"; then
      echo "check: $binary was built without cudnn.h: its cuDNN comparison will report itself unavailable"
    fi
  done
  local status=0
  LD_LIBRARY_PATH="$out/lib:$cuda_library_path" "$out/tests/ff_gpu_tests" >/dev/null 2>&1 || status=$?
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    echo "check: a GPU is present here; ff_gpu_tests exited $status"
    [ "$status" -eq 0 ] || failures=$((failures + 1))
  elif [ "$status" -eq 77 ]; then
    echo "check: ff_gpu_tests exits 77 (skipped) without a GPU, as it should"
  else
    echo "check FAIL: ff_gpu_tests exited $status without a GPU (expected 77)" >&2
    failures=$((failures + 1))
  fi
  local version
  if version=$(LD_LIBRARY_PATH="$out/lib:$cuda_library_path" "$out/bin/fewerframes" --version 2>&1); then
    echo "check: $version"
  else
    echo "check FAIL: fewerframes --version: $version" >&2
    failures=$((failures + 1))
  fi
  # Which OpenBLAS build went in (ldd followed the binaries' run path, so it is the one they were linked
  # with; CMakeLists.txt prefers the OpenMP build): only that one links libgomp.
  if [ -e "$out/lib/libopenblas.so.0" ]; then
    if objdump -p "$out/lib/libopenblas.so.0" | grep -q 'NEEDED *libgomp'; then
      echo "check: OpenBLAS in the bundle: the OpenMP build (one thread pool with the kernels)"
    else
      echo "check: OpenBLAS in the bundle: not the OpenMP build (its own thread pool beside the kernels')"
    fi
  fi
  local glibc
  glibc=$(for binary in "${binaries[@]}" "$out"/lib/*.so*; do objdump -T "$out/${binary#"$out/"}" 2>/dev/null; done |
    grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  echo "check: the bundle needs ${glibc:-GLIBC_?} or newer on the node"
  local bytes
  bytes=$(du -sb "$out" | cut -f1)
  echo "check: bundle size $(numfmt --to=iec-i --suffix=B "$bytes") ($bytes bytes, limit 64 MiB)"
  if [ "$bytes" -ge "$max_bytes" ]; then
    echo "check FAIL: the bundle is 64 MiB or more" >&2
    failures=$((failures + 1))
  fi
  if [ "$failures" -eq 0 ]; then echo "check: ok"; else echo "check: $failures problem(s)" >&2; fi
  [ "$failures" -eq 0 ]
}

if [ "$check_only" -eq 1 ]; then
  check_bundle
  exit
fi

# ---- build
[ -x /usr/local/cuda/bin/nvcc ] || { echo "make_gpu_bundle.sh: needs nvcc at /usr/local/cuda/bin/nvcc" >&2; exit 1; }
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$source_dir")}
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DFF_ENABLE_CUDA=ON \
  -DFF_BUILD_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES=90 "${launcher[@]}"
cmake --build "$build_dir" --parallel "$jobs" --target fewerframes ff_gpu_tests

# ---- gather
rm -rf "$out"
mkdir -p "$out/bin" "$out/tests" "$out/lib" "$out/bench/reference"
install -m 755 "$build_dir/fewerframes" "$out/bin/fewerframes"
install -m 755 "$build_dir/tests/ff_gpu_tests" "$out/tests/ff_gpu_tests"
strip --strip-unneeded "$out/bin/fewerframes" "$out/tests/ff_gpu_tests"
libraries=$(ldd "$out/bin/fewerframes")  # not piped into grep -q: pipefail would see ldd's SIGPIPE
if ! grep -q 'libcudart' <<<"$libraries"; then
  echo "make_gpu_bundle.sh: $build_dir/fewerframes is not linked with CUDA (the build found no CUDA)" >&2
  exit 1
fi

for binary in "${binaries[@]}"; do
  ldd "$out/$binary" | while IFS= read -r line; do
    name=$(awk '{print $1}' <<<"$line")
    path=$(sed -n 's/.*=> \(\/[^ ]*\) (.*/\1/p' <<<"$line")
    if [ -n "$path" ] && ! is_node_library "$name"; then
      # Under the name the binary asks for (the soname), whatever the file behind the link is called.
      [ -e "$out/lib/$name" ] || install -m 644 "$(realpath "$path")" "$out/lib/$name"
    fi
  done
done

install -m 644 "$source_dir"/bench/reference/*.py "$out/bench/reference/"

cat >"$out/bin/peer_python" <<'PEER'
#!/bin/sh
# The PyTorch peer's interpreter: python3 (or $FF_PEER_PYTHON) with the library path the node had before
# run_gpu_checks.sh put the bundle's lib/ first, so PyTorch loads the node's own libstdc++ and friends.
if [ -n "${FF_NODE_LD_LIBRARY_PATH+set}" ]; then
  if [ -n "$FF_NODE_LD_LIBRARY_PATH" ]; then export LD_LIBRARY_PATH="$FF_NODE_LD_LIBRARY_PATH"; else unset LD_LIBRARY_PATH; fi
fi
exec "${FF_PEER_PYTHON:-python3}" "$@"
PEER
chmod 755 "$out/bin/peer_python"

cat >"$out/run_gpu_checks.sh" <<'CHECKS'
#!/usr/bin/env bash
# Runs on a GPU node from an unpacked bundle (docs/gpu_bundle.md): the GPU test suite, then
# `bench kernels --device cuda` (when this build has it), `bench ops --device cuda` and
# `bench train --device cuda` with the PyTorch peer, each under a timeout. Everything, with nvidia-smi,
# the date and each command, is written to one report, $OUT/gpu_report.txt (OUT defaults to ./gpu_report);
# bench train's JSON goes beside it. A failing part does not stop the others; the summary at the end
# lists each part's result, and the exit status is 0 only when every part that ran passed.
#
#   run_gpu_checks.sh [--only tests,kernels,ops,train]
#
# Time limits in seconds (environment): FF_TIMEOUT_TESTS (150), FF_TIMEOUT_KERNELS (60), FF_TIMEOUT_OPS (60),
# FF_TIMEOUT_TRAIN (270). Extra arguments for bench train: FF_BENCH_TRAIN_ARGS (e.g. "--precision tf32").
# The peer runs under python3, or $FF_PEER_PYTHON. cuDNN (not in the bundle) is looked for on the node
# first and its folder appended to LD_LIBRARY_PATH when the loader would not find it; the report says where.
set -u
bundle=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-./gpu_report}
only=tests,kernels,ops,train
while [ $# -gt 0 ]; do
  case $1 in
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_gpu_checks.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
report=$out/gpu_report.txt
: >"$report"

export FF_NODE_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH="$bundle/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:/usr/local/cuda/targets/x86_64-linux/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fewerframes=$bundle/bin/fewerframes

log() { echo "$*" | tee -a "$report"; }
section() { log ""; log "==== $* ===="; }

# cuDNN. The binaries open libcudnn.so.9 at run time for the cuDNN side of `bench kernels --family
# batch_norm` and its GPU test, and report it unavailable when the loader cannot find it; the bundle does
# not carry it (its libraries are about 500 MB). Where the loader finds it, nothing changes; otherwise the
# first folder holding it is appended to LD_LIBRARY_PATH (appended: the bundle's and the toolkit's folders
# keep their precedence): the peer Python's cuDNN wheel (nvidia.cudnn, which PyTorch uses), PyTorch's own
# lib/, then the CUDA toolkits under /usr/local. cuDNN 9's shim finds its sub-libraries beside itself.
cudnn_on_loader_path() {  # prints where the loader would find libcudnn.so.9; fails when it would not
  local dir ldconfig
  local IFS=:
  for dir in $LD_LIBRARY_PATH; do
    if [ -n "$dir" ] && [ -e "$dir/libcudnn.so.9" ]; then echo "$dir"; return 0; fi
  done
  ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
  "$ldconfig" -p 2>/dev/null | sed -n 's/^[[:space:]]*libcudnn\.so\.9 (.*) => \(.*\)$/\1/p' | grep -m1 .
}
cudnn_candidates() {  # "FOLDER<tab>WHERE FROM" for each folder that holds libcudnn.so.9, best first
  timeout 120 "$bundle/bin/peer_python" - 2>/dev/null <<'PY'
import os
def has(d): return os.path.exists(os.path.join(d, "libcudnn.so.9"))
try:
    import nvidia.cudnn
    for p in nvidia.cudnn.__path__:
        if has(os.path.join(p, "lib")): print(os.path.join(p, "lib") + "\tthe peer Python's nvidia.cudnn")
except Exception:
    pass
try:
    import torch
    d = os.path.join(os.path.dirname(torch.__file__), "lib")
    if has(d): print(d + "\tPyTorch's lib/")
except Exception:
    pass
PY
  local dir
  for dir in /usr/local/cuda*/lib64 /usr/local/cuda*/lib /usr/local/cuda*/targets/x86_64-linux/lib; do
    if [ -e "$dir/libcudnn.so.9" ]; then printf '%s\t%s\n' "$dir" "a CUDA toolkit"; fi
  done
}
find_cudnn() {
  local found candidate
  if found=$(cudnn_on_loader_path); then
    log "cuDNN: the loader finds libcudnn.so.9 ($found)"
    return
  fi
  candidate=$(cudnn_candidates | head -1)
  if [ -n "$candidate" ]; then
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:${candidate%%$'\t'*}"
    log "cuDNN: appended ${candidate%%$'\t'*} to LD_LIBRARY_PATH (libcudnn.so.9 from ${candidate#*$'\t'})"
  else
    log "cuDNN: libcudnn.so.9 not found (loader path, ldconfig, the peer Python's nvidia.cudnn and PyTorch, /usr/local/cuda*):" \
      "the cuDNN rows of bench kernels report unavailable and its GPU test is skipped"
  fi
}

results=()
# run_part NAME TIMEOUT COMMAND...: runs the command with its output in the report; records the outcome.
run_part() {
  local name=$1 limit=$2
  shift 2
  section "$name"
  log "\$ $*   (timeout ${limit}s)"
  local start=$SECONDS status
  timeout -k 15 "$limit" "$@" 2>&1 | tee -a "$report"
  status=${PIPESTATUS[0]}
  local outcome=PASS
  case $status in
    0) outcome=PASS ;;
    77) outcome="SKIP (no usable GPU)" ;;
    124|137) outcome="TIMEOUT after ${limit}s" ;;
    *) outcome="FAIL (exit $status)" ;;
  esac
  log "-- $name: $outcome in $((SECONDS - start)) s"
  results+=("$name: $outcome")
}
wanted() { [[ ",$only," == *",$1,"* ]]; }

section "node"
log "date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
log "host: $(hostname)  kernel: $(uname -r)"
(nvidia-smi || echo "nvidia-smi failed") 2>&1 | tee -a "$report"
log "nvcc: $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | tail -1 || echo 'not found')"
log "python: $("$bundle/bin/peer_python" -c 'import sys, torch; print(sys.executable, "torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())' 2>&1 | tail -1)"
log "bundle: $("$fewerframes" --version 2>&1)"
find_cudnn
log "libraries of fewerframes:"
ldd "$fewerframes" 2>&1 | tee -a "$report"

if wanted tests; then
  run_part "ff_gpu_tests" "${FF_TIMEOUT_TESTS:-150}" "$bundle/tests/ff_gpu_tests"
fi
if wanted kernels; then
  if "$fewerframes" bench --help 2>/dev/null | grep -qE '^ +kernels '; then
    run_part "bench kernels" "${FF_TIMEOUT_KERNELS:-60}" "$fewerframes" bench kernels --device cuda
  else
    section "bench kernels"
    log "not in this build: skipped"
    results+=("bench kernels: SKIP (not in this build)")
  fi
fi
if wanted ops; then
  run_part "bench ops" "${FF_TIMEOUT_OPS:-60}" "$fewerframes" bench ops --device cuda
fi
if wanted train; then
  # shellcheck disable=SC2086  # FF_BENCH_TRAIN_ARGS holds several words on purpose
  run_part "bench train" "${FF_TIMEOUT_TRAIN:-270}" "$fewerframes" bench train --device cuda --steps 10 --warmup 2 \
    --python "$bundle/bin/peer_python" --json-out "$out/bench_train.json" ${FF_BENCH_TRAIN_ARGS:-}
fi

section "summary"
failed=0
for r in "${results[@]}"; do
  log "$r"
  case $r in *FAIL* | *TIMEOUT*) failed=$((failed + 1)) ;; esac
done
log "report: $report"
[ "$failed" -eq 0 ]
CHECKS
chmod 755 "$out/run_gpu_checks.sh"

echo "bundle: $out"
check_bundle
