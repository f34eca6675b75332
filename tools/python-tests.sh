#!/usr/bin/env bash
# The Python package's tests: build the wheel with maturin in a fresh virtual environment,
# install it, run pytest (crates/iontransport-py/tests). Run from anywhere; needs Rust,
# Python >= 3.9 with venv, and PyPI (maturin, numpy, pytest).
#
# The wheel is a debug build: the dev and test profiles are the same (Cargo.toml), so after
# `cargo test --workspace` only the PyO3 layer compiles here. The tests compare with the
# command line of this checkout (target/debug/iontransport, built if missing).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" "numpy>=1.21" pytest
"$work/venv/bin/maturin" build --quiet -m crates/iontransport-py/Cargo.toml --out "$work/wheels"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work"/wheels/*.whl
IONTRANSPORT_BIN="${IONTRANSPORT_BIN:-$PWD/target/debug/iontransport}" \
    "$work/venv/bin/python" -m pytest -q -p no:cacheprovider crates/iontransport-py/tests "$@"
