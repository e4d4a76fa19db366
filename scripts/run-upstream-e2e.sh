#!/usr/bin/env bash
# Run LiveKit's own end-to-end tests for rooms and data (from a checkout of
# github.com/livekit/python-sdks; nothing of it is copied here) against a
# local livekit-server and our library, through the installed official SDK
# (livekit 1.2.0).
#
#   scripts/run-upstream-e2e.sh [options] [PYTHON_SDKS_DIR] [-- pytest args...]
#
#   PYTHON_SDKS_DIR   a work tree of python-sdks (or set PYTHON_SDKS_DIR)
#   --official        load the official library from the wheel instead of ours
#   --rooms-only      leave out the audio tests (publishing, audio stream
#                     subscription, room lifecycle with a published track)
#   --with-tracks     accepted for compatibility; audio tests run by default
#                     audio track, so it needs more than rooms and data)
#
# The tests chosen:
#   tests/rtc/test_e2e.py::test_publish_track
#   tests/rtc/test_e2e.py::test_audio_stream_subscribe
#   tests/rtc/test_e2e.py::test_room_lifecycle_events
#   tests/rtc/test_e2e.py::test_connection_state_transitions
#   tests/rtc/test_e2e.py::test_data_track        (RUN_DATA_TRACK_TESTS=1)
#   livekit-rtc/tests/test_dc.py                  (5 data-channel tests)
#
# They need LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET (they skip
# without them) and pytest-asyncio; this script starts a private server with
# scripts/livekit-server.sh, exports the three variables, and runs pytest from
# a venv in .tools/upstream-venv (system site packages plus pytest-asyncio,
# created on first use from PyPI). Our library: $LIVEKIT_LIB_PATH, or
# target/release/liblivekit_ffi.so (cargo build --release -p livekit-ffi).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${LIVEKIT_TOOLS_DIR:-$REPO_ROOT/.tools}"
VENV="$TOOLS_DIR/upstream-venv"
PYTHON="${PYTHON:-python3}"

die() { printf 'run-upstream-e2e: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'run-upstream-e2e: %s\n' "$*" >&2; }

official=0
with_tracks=1
sdks="${PYTHON_SDKS_DIR:-}"
pytest_args=()
while (($#)); do
    case "$1" in
        --official) official=1; shift ;;
        --with-tracks) with_tracks=1; shift ;;
        --rooms-only) with_tracks=0; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        --) shift; pytest_args=("$@"); break ;;
        -*) die "unknown option $1" ;;
        *) sdks="$1"; shift ;;
    esac
done
[[ -n "$sdks" ]] || die "give the python-sdks checkout as an argument or in PYTHON_SDKS_DIR"
sdks="$(cd "$sdks" && pwd)" || die "no such directory: $sdks"

tests=(
    "tests/rtc/test_e2e.py::test_connection_state_transitions"
    "tests/rtc/test_e2e.py::test_data_track"
    "livekit-rtc/tests/test_dc.py"
)
((with_tracks)) && tests+=(
    "tests/rtc/test_e2e.py::test_publish_track"
    "tests/rtc/test_e2e.py::test_audio_stream_subscribe"
    "tests/rtc/test_e2e.py::test_room_lifecycle_events"
)
for t in "${tests[@]}"; do
    [[ -f "$sdks/${t%%::*}" ]] || die "$sdks/${t%%::*} not found: is this a python-sdks checkout?"
done

# --- the library under test ----------------------------------------------------

if ((official)); then
    unset LIVEKIT_LIB_PATH
    log "library: the official one from the livekit wheel"
else
    export LIVEKIT_LIB_PATH="${LIVEKIT_LIB_PATH:-$REPO_ROOT/target/release/liblivekit_ffi.so}"
    [[ -f "$LIVEKIT_LIB_PATH" ]] || die "$LIVEKIT_LIB_PATH not found: cargo build --release -p livekit-ffi"
    log "library: $LIVEKIT_LIB_PATH"
fi

# --- pytest with pytest-asyncio ----------------------------------------------------

if ! "$VENV/bin/python" -c 'import pytest, pytest_asyncio, livekit.rtc, livekit.api' 2>/dev/null; then
    log "creating $VENV (system packages + pytest-asyncio)"
    "$PYTHON" -m venv --system-site-packages "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "pytest-asyncio>=0.24"
    "$VENV/bin/python" -c 'import pytest, pytest_asyncio, livekit.rtc, livekit.api' \
        || die "the venv lacks pytest or livekit: python3 -m pip install -r tests/python/requirements.txt"
fi

# --- a private server ------------------------------------------------------------

state_dir="$(mktemp -d "${TMPDIR:-/tmp}/livekit-upstream-e2e.XXXXXX")"
export LIVEKIT_SERVER_STATE_DIR="$state_dir"
cleanup() {
    bash "$REPO_ROOT/scripts/livekit-server.sh" stop >/dev/null 2>&1 || true
    rm -rf "$state_dir"
}
trap cleanup EXIT
bash "$REPO_ROOT/scripts/livekit-server.sh" start --parent $$ >/dev/null
eval "$(bash "$REPO_ROOT/scripts/livekit-server.sh" env)"
export LIVEKIT_URL LIVEKIT_API_KEY LIVEKIT_API_SECRET
export RUN_DATA_TRACK_TESTS=1
log "server: $LIVEKIT_URL (log: $state_dir/server.log, removed at exit)"

# -P: keep the checkout off sys.path, so `livekit` is the installed SDK, not
# the sources in the checkout.
cd "$sdks"
set +e
"$VENV/bin/python" -P -m pytest -p no:cacheprovider -q \
    -W "ignore:The HMAC key is" \
    "${tests[@]}" ${pytest_args[@]+"${pytest_args[@]}"}
status=$?
set -e
if ((status != 0)); then
    log "server log tail:"
    tail -n 20 "$state_dir/server.log" >&2 || true
fi
exit "$status"
