#!/usr/bin/env bash
# The main job: build the library and run the demo through the official
# LiveKit Python SDK loaded on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p livekit-ffi
export LIVEKIT_LIB_PATH="$PWD/target/release/liblivekit_ffi.so"
python3 demo/offline.py
