"""Shared fixtures: the emulator and a client wired to it come from smskit.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["smskit.testing"]

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
