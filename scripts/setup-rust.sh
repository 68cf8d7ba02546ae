#!/usr/bin/env bash
# Toolchain targets the build needs: wasm32-wasip2 for strategy components,
# x86_64-unknown-linux-musl for the static in-pod runner. Idempotent.
set -euo pipefail
rustup target add wasm32-wasip2 x86_64-unknown-linux-musl >/dev/null
rustup component add rustfmt clippy >/dev/null 2>&1 || true
