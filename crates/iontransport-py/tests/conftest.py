"""Shared paths and helpers of the Python tests (run by .ci/run after building the wheel)."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def cli():
    """The `iontransport` command line of this checkout (IONTRANSPORT_BIN, else
    target/debug/iontransport, built if missing), to compare the package with."""
    path = Path(os.environ.get("IONTRANSPORT_BIN", REPO / "target" / "debug" / "iontransport"))
    if not path.exists():
        subprocess.run(
            ["cargo", "build", "--quiet", "--bin", "iontransport"], cwd=REPO, check=True
        )
    assert path.exists(), f"no command line at {path}"

    def run(*args):
        out = subprocess.run(
            [str(path), *args], cwd=REPO, check=True, capture_output=True, text=True
        )
        return out.stdout

    return run


def parse_csv_table(text):
    """The header and float rows of the command line's --csv output."""
    lines = [l for l in text.strip().splitlines() if l and not l.startswith("mean of")]
    header = lines[0].split(",")
    rows = [[float(x) for x in l.split(",")] for l in lines[1:]]
    return header, rows
