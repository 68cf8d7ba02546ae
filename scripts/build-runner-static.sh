#!/usr/bin/env bash
# Builds the in-pod runner: `nbv` without the operator feature, statically
# linked for x86_64-unknown-linux-musl, so the install init container can copy
# it into any notebook image (glibc or musl, any distribution). Prints the
# binary's path last, after checking with file/ldd that it really is static.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

target=x86_64-unknown-linux-musl
profile="${NBV_RUNNER_PROFILE:-release}"
rustup target add "$target" >/dev/null 2>&1 || true

# Every dependency of the runner is pure Rust except ring, whose C and
# assembly parts need a C compiler for musl: Debian's musl-tools (musl-gcc).
if ! command -v musl-gcc >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "build-runner-static: installing musl-tools (musl-gcc) for ring's C code" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools; } >&2
  else
    echo "build-runner-static: musl-gcc not found; install musl-tools (Debian/Ubuntu: apt-get install musl-tools)" >&2
    exit 1
  fi
fi
export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-musl-gcc}"
cargo build --locked --profile "$profile" --target "$target" -p nbv --no-default-features --bin nbv >&2

dir="$profile"
[[ "$profile" == dev ]] && dir=debug
bin="$CARGO_TARGET_DIR/$target/$dir/nbv"

desc="$(file -b "$bin")"
echo "file: $desc" >&2
case "$desc" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) echo "build-runner-static: $bin is not statically linked" >&2; exit 1 ;;
esac
# ldd exits non-zero for static binaries; what matters is that it lists no libraries.
if ldd "$bin" 2>&1 | grep -q '=>'; then
  echo "build-runner-static: ldd lists shared libraries for $bin:" >&2
  ldd "$bin" >&2 || true
  exit 1
fi
echo "size: $(du -h "$bin" | cut -f1)" >&2
"$bin" run --help >/dev/null
echo "$bin"
