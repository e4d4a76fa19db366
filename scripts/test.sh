#!/usr/bin/env bash
# Every test: formatting and lints, Rust unit and integration tests (C ABI,
# header, C program), a bounded fuzz run over livekit_ffi_request, and the
# official Python SDK on our library (last, so its summary closes the run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# One-shot builds gain nothing from incremental caches, which cost gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== cargo fmt, clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== fuzz livekit_ffi_request (${FUZZ_SECONDS:-60} s)"
(cd fuzz && cargo +nightly fuzz run request -- -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=4096 2>&1 | tail -n 5)

echo "== python: the official SDK on our library"
cargo build --release -p livekit-ffi
LIVEKIT_LIB_PATH="$PWD/target/release/liblivekit_ffi.so" python3 -m pytest tests/python -q
