#!/usr/bin/env bash
# Makes cargo-tarpaulin available for the Rust coverage step: uses the one installed when there,
# otherwise builds it from crates.io (a few minutes; its LLVM engine needs no LLVM tools, only
# the toolchain's own profiler runtime).
set -euo pipefail

if cargo tarpaulin --version >/dev/null 2>&1; then
  exit 0
fi
echo "installing cargo-tarpaulin for the Rust coverage step" >&2
# Its release profile asks for LTO and one codegen unit, which take most of the build on two
# cores; a tool that reads coverage files needs neither.
CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
  cargo install cargo-tarpaulin --locked --quiet
cargo tarpaulin --version
