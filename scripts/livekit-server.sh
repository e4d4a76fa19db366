#!/usr/bin/env bash
# A local LiveKit server for the room tests: installed on demand into the
# project (.tools/bin, gitignored), run in dev mode on 127.0.0.1 with free
# ports, stopped by pid.
#
#   scripts/livekit-server.sh install     # build/cache the binary, print its path
#   scripts/livekit-server.sh start       # start (or reuse) a server, print its ws:// URL
#   scripts/livekit-server.sh stop        # stop it
#   scripts/livekit-server.sh status      # print the URL if running, else exit 1
#   scripts/livekit-server.sh env         # print export lines: LIVEKIT_URL, _API_KEY, _API_SECRET
#   scripts/livekit-server.sh logs        # print the path of the server log
#
# start options:
#   --parent PID   stop the server when process PID exits (for test harnesses)
#
# Keys are the dev pair devkey / secret. Environment:
#   LIVEKIT_SERVER_VERSION    module version to install (default v1.13.5)
#   LIVEKIT_SERVER_BIN        use this binary instead of installing one
#   LIVEKIT_TOOLS_DIR         cache directory (default <repo>/.tools)
#   LIVEKIT_SERVER_STATE_DIR  where pid, URL, ports, config and log live
#                             (default: a per-user, per-checkout dir in $TMPDIR)
#   LIVEKIT_SERVER_START_TIMEOUT  seconds to wait for readiness (default 30)
#
# Needs Go (https://go.dev/dl) for the first install only; the build takes a
# few minutes, later calls reuse the binary. Network: the Go module proxy.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${LIVEKIT_SERVER_VERSION:-v1.13.5}"
MODULE="github.com/livekit/livekit-server/cmd/server"
TOOLS_DIR="${LIVEKIT_TOOLS_DIR:-$REPO_ROOT/.tools}"
BIN_DIR="$TOOLS_DIR/bin"
BIN="$BIN_DIR/livekit-server"
API_KEY="devkey"
API_SECRET="secret"
START_TIMEOUT="${LIVEKIT_SERVER_START_TIMEOUT:-30}"
checkout_id="$(printf '%s' "$REPO_ROOT" | cksum | cut -d' ' -f1)"
STATE_DIR="${LIVEKIT_SERVER_STATE_DIR:-${TMPDIR:-/tmp}/livekit-server-$(id -u)-$checkout_id}"

log() { printf 'livekit-server: %s\n' "$*" >&2; }
die() { printf 'livekit-server: error: %s\n' "$*" >&2; exit 1; }

# --- install -------------------------------------------------------------------

# True if $1 is an executable livekit-server of the wanted version.
right_version() {
    [[ -x "$1" ]] || return 1
    local out
    out="$("$1" --version 2>/dev/null)" || return 1
    [[ "$out" == *"version ${VERSION#v}"* ]]
}

# Another `go install` of the server is building into our GOBIN (a background
# install started by hand, or a parallel call of this script).
install_in_progress() {
    local pid cmd env
    for pid in $(pgrep -f "go install .*${MODULE}@" 2>/dev/null || true); do
        env="$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null || true)"
        cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        if [[ "$env" == *"GOBIN=$BIN_DIR"* || "$cmd" == *"$BIN_DIR"* ]]; then
            return 0
        fi
    done
    return 1
}

# Print the path of a usable binary without building anything, or fail.
find_binary() {
    if [[ -n "${LIVEKIT_SERVER_BIN:-}" ]]; then
        [[ -x "$LIVEKIT_SERVER_BIN" ]] || die "LIVEKIT_SERVER_BIN=$LIVEKIT_SERVER_BIN is not executable"
        printf '%s\n' "$LIVEKIT_SERVER_BIN"
        return 0
    fi
    if right_version "$BIN"; then
        printf '%s\n' "$BIN"
        return 0
    fi
    # `GOBIN=.tools/bin go install .../cmd/server` names it `server`.
    if right_version "$BIN_DIR/server"; then
        ln -sfn server "$BIN"
        printf '%s\n' "$BIN"
        return 0
    fi
    return 1
}

cmd_install() {
    local path
    if path="$(find_binary)"; then
        printf '%s\n' "$path"
        return 0
    fi
    mkdir -p "$BIN_DIR"
    if install_in_progress; then
        log "an install of $MODULE@$VERSION into $BIN_DIR is running; waiting for it"
        while install_in_progress; do sleep 2; done
        if path="$(find_binary)"; then
            printf '%s\n' "$path"
            return 0
        fi
    fi
    command -v go >/dev/null || die "Go is needed to install livekit-server (https://go.dev/dl), or set LIVEKIT_SERVER_BIN"
    # The server needs a recent Go (1.26 for v1.13.5); Go >= 1.21 fetches that
    # toolchain by itself through the module proxy (GOTOOLCHAIN=auto).
    local gover
    gover="$(go env GOVERSION 2>/dev/null || true)"
    if [[ "$gover" =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] < 21)); then
        die "$gover is too old to build livekit-server (Debian 12's golang-go is 1.19): install Go >= 1.21 from https://go.dev/dl or bookworm-backports, or set LIVEKIT_SERVER_BIN"
    fi

    # One installer at a time; whoever gets the lock second finds the binary.
    exec 9>"$TOOLS_DIR/install.lock"
    flock 9
    if path="$(find_binary)"; then
        flock -u 9
        printf '%s\n' "$path"
        return 0
    fi
    local gobin install_log
    gobin="$(mktemp -d "$TOOLS_DIR/gobin.XXXXXX")"
    install_log="$(mktemp "${TMPDIR:-/tmp}/livekit-server-install.XXXXXX.log")"
    log "installing $MODULE@$VERSION (first time only, takes a few minutes; log: $install_log)"
    if ! GOBIN="$gobin" GOTOOLCHAIN="${LIVEKIT_GOTOOLCHAIN:-auto}" GOFLAGS="${GOFLAGS:-} -trimpath" \
        go install "$MODULE@$VERSION" >"$install_log" 2>&1; then
        tail -n 20 "$install_log" >&2
        rm -rf "$gobin"
        die "go install failed (log: $install_log)"
    fi
    mv -f "$gobin/server" "$BIN"
    rm -rf "$gobin"
    flock -u 9
    right_version "$BIN" || die "installed $BIN does not report version $VERSION"
    log "installed $BIN"
    printf '%s\n' "$BIN"
}

# --- start / stop ----------------------------------------------------------------

# "HTTP TCP UDP": three ports free right now on 127.0.0.1.
free_ports() {
    if command -v python3 >/dev/null; then
        python3 - <<'PY'
import socket
socks = []
for kind in (socket.SOCK_STREAM, socket.SOCK_STREAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
    else
        local base=$((20000 + RANDOM % 30000))
        echo "$base $((base + 1)) $((base + 2))"
    fi
}

# GET / answers "OK" (the server's health check).
http_ok() {
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
        resp="$(cat <&3)"
        [[ "$resp" == "HTTP/1."*" 200 "* && "$resp" == *OK* ]]
    ' _ "$1" 2>/dev/null
}

read_state() { cat "$STATE_DIR/$1" 2>/dev/null || true; }

# The server recorded in STATE_DIR is alive and healthy.
is_running() {
    local pid port
    pid="$(read_state pid)"
    port="$(read_state http_port)"
    [[ -n "$pid" && -n "$port" ]] && kill -0 "$pid" 2>/dev/null && http_ok "$port"
}

cmd_start() {
    local parent=""
    while (($#)); do
        case "$1" in
            --parent) parent="${2:?--parent needs a pid}"; shift 2 ;;
            *) die "start: unknown option $1" ;;
        esac
    done
    if is_running; then
        read_state url
        return 0
    fi
    local bin
    bin="$(cmd_install)"
    mkdir -p "$STATE_DIR"
    rm -f "$STATE_DIR/pid" "$STATE_DIR/url"

    local attempt http tcp udp pid deadline
    for attempt in 1 2 3; do
        read -r http tcp udp <<<"$(free_ports)"
        cat >"$STATE_DIR/config.yaml" <<EOF
port: $http
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: $tcp
  udp_port: $udp
  use_external_ip: false
  node_ip: 127.0.0.1
  enable_loopback_candidate: true
keys:
  $API_KEY: $API_SECRET
EOF
        # Own session, so a Ctrl-C meant for the caller does not reach it;
        # the pid file holds the server's own pid (exec keeps it).
        setsid bash -c 'echo $$ >"$1/pid"; shift; exec "$@"' _ "$STATE_DIR" \
            "$bin" --dev --config "$STATE_DIR/config.yaml" \
            >"$STATE_DIR/server.log" 2>&1 </dev/null &
        deadline=$((SECONDS + START_TIMEOUT))
        pid=""
        while ((SECONDS < deadline)); do
            [[ -n "$pid" ]] || pid="$(read_state pid)"
            if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
                break # exited: most likely a port taken since we picked it
            fi
            if [[ -n "$pid" ]] && http_ok "$http"; then
                echo "$http" >"$STATE_DIR/http_port"
                echo "$tcp" >"$STATE_DIR/tcp_port"
                echo "$udp" >"$STATE_DIR/udp_port"
                echo "ws://127.0.0.1:$http" >"$STATE_DIR/url"
                if [[ -n "$parent" ]]; then
                    # Stop the server when the parent goes away, even if it
                    # never calls stop (killed test run).
                    setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
                                    kill "$2" 2>/dev/null || true' _ "$parent" "$pid" \
                        >/dev/null 2>&1 </dev/null &
                fi
                log "running (pid $pid, log $STATE_DIR/server.log)"
                read_state url
                return 0
            fi
            sleep 0.1
        done
        [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
        log "attempt $attempt: server did not come up on port $http; log tail:"
        tail -n 15 "$STATE_DIR/server.log" >&2 || true
    done
    die "could not start livekit-server (log: $STATE_DIR/server.log)"
}

cmd_stop() {
    local pid i
    pid="$(read_state pid)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        log "stopped (pid $pid)"
    fi
    rm -f "$STATE_DIR/pid" "$STATE_DIR/url"
}

cmd_status() {
    if is_running; then
        read_state url
    else
        exit 1
    fi
}

cmd_env() {
    is_running || die "not running (start it first)"
    printf 'export LIVEKIT_URL=%s\nexport LIVEKIT_API_KEY=%s\nexport LIVEKIT_API_SECRET=%s\n' \
        "$(read_state url)" "$API_KEY" "$API_SECRET"
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) echo "$STATE_DIR/server.log" ;;
    *) sed -n '2,26p' "$0" >&2; exit 2 ;;
esac
