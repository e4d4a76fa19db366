#!/usr/bin/env bash
# The main job: build the library, start a local LiveKit server, and run the
# demos through the official LiveKit Python SDK loaded on our library:
# demo/offline.py (no server needed), then demo/rooms.py (alice and bob in a
# room on that server), then demo/audio.py (alice publishes speech, bob
# subscribes and prints what he hears; same server). The server is stopped on
# exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p livekit-ffi
export LIVEKIT_LIB_PATH="$PWD/target/release/liblivekit_ffi.so"

# A server of our own (own state dir), so the demo neither reuses nor stops
# one started by hand or by the tests; --parent stops it even if this script
# is killed before its trap runs.
LIVEKIT_SERVER_STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/livekit-demo.XXXXXX")"
export LIVEKIT_SERVER_STATE_DIR
cleanup() {
    local status=$?
    bash scripts/livekit-server.sh stop 2>/dev/null || true
    if ((status == 0)); then
        rm -rf "$LIVEKIT_SERVER_STATE_DIR"
    else
        echo "demo stopped (exit $status); server log kept: $LIVEKIT_SERVER_STATE_DIR/server.log" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== local livekit-server"
bash scripts/livekit-server.sh start --parent $$
eval "$(bash scripts/livekit-server.sh env)"

echo "== demo/offline.py: audio, video and APM without a server"
python3 demo/offline.py

echo "== demo/rooms.py: two participants in a room on $LIVEKIT_URL"
python3 demo/rooms.py

echo "== demo/audio.py: alice publishes speech, bob listens, on $LIVEKIT_URL"
python3 demo/audio.py
