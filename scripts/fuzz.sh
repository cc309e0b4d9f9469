#!/usr/bin/env bash
# Builds the TFRecord fuzz target with clang's libFuzzer, AddressSanitizer and UBSan, and runs it.
#
#   scripts/fuzz.sh [SECONDS [LIBFUZZER_OPTION...]]     e.g. scripts/fuzz.sh 600 -jobs=2 -workers=2
#
# SECONDS (default 60) is libFuzzer's -max_total_time. New inputs go to build-fuzz/corpus (the seed corpus
# fuzz/corpus/tfrecord is read, never written); a crash is saved under build-fuzz/artifacts/ and can be
# replayed with build-fuzz/tfrecord_fuzzer FILE (or with the CTest build's tfrecord_corpus_replay FILE).
# Needs clang++ and libclang-rt-*-dev (libFuzzer), zlib1g-dev, libisal-dev, protobuf-compiler, libprotobuf-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
out=build-fuzz
mkdir -p "$out/corpus" "$out/artifacts"

# The generated tf.Example code, then the sources the target needs, compiled directly: the reader, the
# YouTube-8M decoders (the second stage) and what they link to.
mkdir -p "$out/generated"
protoc -I. --cpp_out="$out/generated" data/proto/example.proto
sources=(
  "$out/generated/data/proto/example.pb.cc"
  data/youtube8m.cpp
  data/youtube8m_wire.cpp
  data/youtube8m_protobuf.cpp
  kernels/dequantize_cpu.cpp
  fuzz/tfrecord_fuzzer.cpp
  data/tfrecord_reader.cpp
  data/compressed_stream.cpp
  data/crc32c.cpp
  data/compression.cpp
  data/data_error.cpp
  engine/atomic_file.cpp
)

"${CXX:-clang++}" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. -I"$out/generated" "${sources[@]}" -lprotobuf -lz -lisal -o "$out/tfrecord_fuzzer"

# Inputs of up to 4 KiB; a one-second limit per input flags anything close to a hang.
"$out/tfrecord_fuzzer" "$out/corpus" fuzz/corpus/tfrecord \
  -max_total_time="$seconds" -max_len=4096 -timeout=1 -rss_limit_mb=2048 \
  -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
