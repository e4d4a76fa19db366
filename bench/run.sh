#!/usr/bin/env bash
# Builds our liblivekit_ffi.so in release, finds the official one inside the
# installed `livekit` wheel, runs the C ABI and the Python SDK benchmarks and
# writes both tables to bench/out/latest.md (progress goes to
# bench/out/progress.log and the terminal; raw C ABI figures to latest.json).
#
# Environment overrides:
#   ROUNDS=5 BUDGET_MS=600      rounds and measured ms per workload per round
#   OURS=/path/to/lib.so        skip building ours and use this file instead
#   OFFICIAL=/path/to/lib.so    instead of the wheel's bundled library
#   ROOM=0 / AUDIO=0            skip the room / audio benchmark (own server each)
#   AUDIO_ROUNDS=1 AUDIO_ARGS=  rounds of the audio benchmark (30 s CPU windows,
#                               about 3 min a round), extra arguments (--quick)
# Official against itself (checks the noise; ratios should sit near 1.0):
#   OURS="$(python3 -c 'import livekit.rtc,os;print(os.path.dirname(livekit.rtc.__file__))')/resources/liblivekit_ffi.so" bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
BUDGET_MS="${BUDGET_MS:-600}"
if [[ -z "${OURS:-}" ]]; then
    cargo build --release -p livekit-ffi
    OURS="$PWD/target/release/liblivekit_ffi.so"
fi
OFFICIAL="${OFFICIAL:-$(python3 -c 'import livekit.rtc, os; print(os.path.join(os.path.dirname(livekit.rtc.__file__), "resources", "liblivekit_ffi.so"))')}"
for lib in "$OURS" "$OFFICIAL"; do
    [[ -f "$lib" ]] || { echo "missing library: $lib" >&2; exit 1; }
done

cargo build --release -p livekit-bench
mkdir -p bench/out
out=bench/out/latest.md
log=bench/out/progress.log
: >"$log"
{
    echo "# LiveKit FFI benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
        "$(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    target/release/livekit-bench --official "$OFFICIAL" --ours "$OURS" \
        --rounds "$ROUNDS" --budget-ms "$BUDGET_MS" --json bench/out/latest.json
    echo
    python3 bench/python_bench.py --ours "$OURS" --rounds "$ROUNDS" --budget-ms "$BUDGET_MS"
    [[ "${ROOM:-1}" == 0 ]] || { echo; python3 bench/room_bench.py --ours "$OURS" --rounds "$ROUNDS" || echo "room benchmark failed (ROOM=0 skips it)"; }
    # shellcheck disable=SC2086 # AUDIO_ARGS is a list of arguments
    [[ "${AUDIO:-1}" == 0 ]] || { echo; python3 bench/audio_bench.py --lib "$OURS" --rounds "${AUDIO_ROUNDS:-1}" ${AUDIO_ARGS:-} || echo "audio benchmark failed (AUDIO=0 skips it)"; }
} 2> >(tee -a "$log" >&2) >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out" >&2
