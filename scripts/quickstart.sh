#!/usr/bin/env bash
# One command from a fresh clone: install dependencies, build, then run the main job, `fewerframes demo`:
# synthetic YouTube-8M data the tool writes itself (no download), a teacher, the Uniform-k baseline and a
# distilled student trained on it, and their GAP/mAP/FLOPs table. Extra arguments go to the demo
# (e.g. --k 30, --device cuda, --full-model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target fewerframes
./build/fewerframes demo --out build/demo "$@"
