#!/usr/bin/env bash
# One command from a fresh clone: install dependencies, build, then run the main job on synthetic
# YouTube-8M data the tool writes itself (no download): make-data, inspect --check, and the loader and op
# benchmarks. Extra arguments go to make-data (e.g. --train 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target fewerframes

data=build/quickstart-data
./build/fewerframes make-data --out "$data" --train 800 --validate 200 --videos-per-shard 200 "$@"
./build/fewerframes inspect --check "$data/frame/*.tfrecord" "$data/video/*.tfrecord"
./build/fewerframes inspect "$data/frame/validate0000.tfrecord" --limit 3 --vocabulary data/youtube8m_vocabulary.csv
./build/fewerframes bench loader --data "$data/frame/train*.tfrecord"
./build/fewerframes bench ops --quick
