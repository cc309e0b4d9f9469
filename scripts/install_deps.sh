#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. CUDA is not installed here: the CUDA
# backend is built when the toolkit (nvcc) is already present, under /usr/local/cuda or on PATH.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev      # CPU GEMM: the headers and pkg-config file CMakeLists.txt falls back to
  libopenblas-openmp-dev  # the OpenMP build, which CMakeLists.txt prefers: one thread pool with our kernels
  nlohmann-json3-dev   # safetensors headers, --json output
  libcli11-dev         # the command line
  libfmt-dev
  libisal-dev          # CRC32C of TFRecord framing
  zlib1g-dev           # GZIP / ZLIB TFRecord files
  protobuf-compiler libprotobuf-dev  # the tf.Example / tf.SequenceExample schema
  catch2               # tests (Catch2 v2, catch2/catch.hpp)
  python3 python3-numpy  # the test that reads a checkpoint back in Python
  python3-protobuf python3-crc32c  # an independent TFRecord writer for the loader's tests
)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

export DEBIAN_FRONTEND=noninteractive
sudo_if_needed apt-get update -q
sudo_if_needed apt-get install -y -q --no-install-recommends "${packages[@]}"
