#!/usr/bin/env bash
# Makes cargo-tarpaulin available for the Rust coverage step: uses the one installed when there,
# otherwise builds it from crates.io (a few minutes; its LLVM engine needs no LLVM tools, only
# the toolchain's own profiler runtime).
set -euo pipefail

if cargo tarpaulin --version >/dev/null 2>&1; then
  exit 0
fi
echo "installing cargo-tarpaulin for the Rust coverage step" >&2
cargo install cargo-tarpaulin --locked --quiet
cargo tarpaulin --version
