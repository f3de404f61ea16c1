#!/usr/bin/env bash
# Installs the dev tools into .venv, builds the extension, and runs every check and test:
# formatting, lints, type checks, the Rust tests and the Python tests. .ci/run runs this script.
#
# scripts/test.sh --quick: for iterating, the Rust unit tests and the Python tests that need no
# Spark session, package build, second process or long fault run; everything else is left to the
# full run (which CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
case "${1:-}" in
  --quick) quick=true ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade "pip>=25.1"
python -m pip install --quiet --group dev
# The Spark tests need a Java runtime; installed only when missing.
$quick || bash scripts/install-java.sh

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

if $quick; then
  step "Rust unit tests"
  cargo test --workspace --exclude forcelink-python --all-features --locked --lib
  step "build and install the packages: forcelink and forcelink-emulator"
  maturin develop --locked --quiet
  (cd emulator && maturin develop --locked --quiet)
  step "the fast Python tests"
  python -m pytest -q --ignore=tests/spark --ignore=tests/packaging/test_packaging.py \
    --ignore=tests/docs/test_doc_examples.py --ignore=tests/docs/test_examples.py \
    --ignore=tests/org/test_org_switch.py --ignore=tests/client/test_first_hour.py \
    --ignore=tests/resilience/test_chaos.py --ignore=tests/resilience/test_fork.py \
    --ignore=tests/resilience/test_crash_safety.py --ignore=tests/resilience/test_fuzz.py \
    --ignore=tests/operations/test_ops.py --ignore=tests/operations/test_import_cost.py
  exit 0
fi

step "rustfmt"
cargo fmt --all -- --check
step "clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
step "the client crate's Cargo features, each alone"
for features in reqwest-transport grpc-transport simulation full; do
  cargo clippy -p forcelink --lib --no-default-features --features "$features" --locked -- -D warnings
done
step "Rust tests, under cargo-tarpaulin (fails on a test, or when a module of the client falls under its floor)"
# The extension crate is tested through Python; it cannot link a test binary without libpython.
# tarpaulin's LLVM engine runs every test binary of the other crates instrumented (its ptrace
# engine crashes in the gRPC tests); the doc examples are compiled apart, as tarpaulin skips them.
bash scripts/install-tarpaulin.sh
cargo test --workspace --exclude forcelink-python --all-features --locked --doc
cargo tarpaulin --engine llvm --workspace --exclude forcelink-python --all-features --locked \
  --target-dir target/tarpaulin --skip-clean --timeout 900 \
  --out Json --out Xml --output-dir target/coverage
python scripts/rust_coverage.py target/coverage/tarpaulin-report.json
step "build and install the packages: forcelink and forcelink-emulator"
maturin develop --locked
(cd emulator && maturin develop --locked)
step "ruff"
ruff check python emulator/python emulator/tests tests benches examples scripts
ruff format --check python emulator/python emulator/tests tests benches examples scripts
step "mypy --strict"
mypy python/forcelink emulator/python/forcelink_emulator
step "stubtest"
python -m mypy.stubtest forcelink._core forcelink_emulator._core
step "pytest, under coverage.py (the Python packages; fails under the floor in pyproject.toml)"
python -m coverage run -m pytest
python -m coverage report --sort=cover
step "the emulator package alone: its own suite, in a virtual environment without forcelink"
if [ ! -x .venv-emulator/bin/python ]; then
  "$python" -m venv .venv-emulator
fi
.venv-emulator/bin/python -m pip install --quiet --upgrade "pip>=25.1"
.venv-emulator/bin/python -m pip install --quiet --group emulator/pyproject.toml:test
(cd emulator && VIRTUAL_ENV="$PWD/../.venv-emulator" maturin develop --locked --quiet)
(cd emulator && FORCELINK_EMULATOR_ALONE=1 ../.venv-emulator/bin/python -m pytest -q tests)
step "latency budgets (short run; fails when a p99 is over its budget)"
python benches/latency_budgets.py --runs 20
step "documentation site (warnings are errors)"
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
