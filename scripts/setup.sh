#!/usr/bin/env bash
# Prepare a Debian 12 machine (run as root) to build the library and run the
# tests and demos: system packages, the Python test requirements, cargo-fuzz
# and the local LiveKit server (scripts/livekit-server.sh install).
#
# Idempotent, quiet, and quick when everything is already in place. Network
# use: apt, PyPI, crates.io and the Go module proxy. A Rust toolchain (cargo)
# must already be installed, and Go >= 1.21 for the first server install
# (built from source, a few minutes, then cached in .tools/bin).
#
#   sudo scripts/setup.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIREMENTS="$REPO_ROOT/tests/python/requirements.txt"
APT_PACKAGES=(libclang-dev nasm cmake pkg-config)

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- system packages ---------------------------------------------------------

# pip itself may be missing on a fresh system Python.
python3 -m pip --version >/dev/null 2>&1 || APT_PACKAGES+=(python3-pip)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || die "need root to install: ${missing[*]}"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python test requirements ------------------------------------------------

command -v python3 >/dev/null || die "python3 not found"
# Debian's system Python is "externally managed" (PEP 668); these are test
# tools for this machine, so install into it anyway. Harmless elsewhere.
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

requirements_met() {
    python3 - "$REQUIREMENTS" 2>/dev/null <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement  # present wherever pytest is

for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        sys.exit(1)
    if not req.specifier.contains(installed, prereleases=True):
        sys.exit(1)
PY
}

if ! requirements_met; then
    log "installing Python test requirements"
    python3 -m pip install -q -r "$REQUIREMENTS"
fi

# --- cargo-fuzz ---------------------------------------------------------------

command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (rustup) first"
# The fuzz step runs on nightly (cargo +nightly fuzz).
if ! cargo +nightly --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || die "the fuzz step needs a nightly toolchain: install rustup"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi

# --- livekit-server (for the room tests and demo/rooms.py) --------------------

LK_SERVER="$REPO_ROOT/scripts/livekit-server.sh"
LK_CACHED="${LIVEKIT_TOOLS_DIR:-$REPO_ROOT/.tools}/bin/livekit-server"
if [[ -z "${LIVEKIT_SERVER_BIN:-}" && ! -x "$LK_CACHED" ]]; then
    # The first install builds it from source with Go; say how to get Go
    # before anything else runs (Debian 12's golang-go is 1.19: too old).
    go_version="$(go env GOVERSION 2>/dev/null || true)"
    if [[ ! "$go_version" =~ ^go1\.([0-9]+) ]] || ((BASH_REMATCH[1] < 21)); then
        die "livekit-server is built once from source and needs Go >= 1.21 for that (found: ${go_version:-no go in PATH}).
  Debian 12's golang-go (1.19) is too old. Install a current Go from https://go.dev/dl, e.g.
      curl -fsSL https://go.dev/dl/go1.24.5.linux-amd64.tar.gz | tar -C /usr/local -xz
      export PATH=/usr/local/go/bin:\$PATH
  (any Go >= 1.21 fetches the newer toolchain the server needs by itself), or set
  LIVEKIT_SERVER_BIN to an existing livekit-server binary; then run this again."
    fi
fi
# Prints the binary's path (dropped); builds it first if not cached.
bash "$LK_SERVER" install >/dev/null

log "ok"
