"""pytest fixtures for code that talks to the SMS platform: an emulator on loopback and a client.

Enable them in a ``conftest.py``::

    pytest_plugins = ["smskit.testing"]

then::

    def test_sends(emulator, emulator_client):
        emulator_client.send("+8615512345678", "tpl", ["123456"])
        assert emulator.sent()["to"].tolist() == ["+8615512345678"]

* ``emulator`` — a fresh :class:`smskit.Emulator` per test (seed 0, default delivery rate, no
  faults), with ``data/templates.csv`` as its catalog when that file exists, else any template id.
* ``emulator_client`` — a :class:`smskit.Client` wired to ``emulator``.
* ``emulator_session`` — one emulator for the whole session, :meth:`~smskit.Emulator.reset` before
  each test that uses it; faster, but its settings are shared (restore any you change).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smskit.emulator import Emulator

__all__ = ["default_templates_path", "emulator", "emulator_client", "emulator_session"]

SEED = 0


def default_templates_path() -> Path | None:
    """``data/templates.csv`` in the working directory or the source checkout, if either exists."""
    for root in (Path.cwd(), Path(__file__).resolve().parent.parent):
        path = root / "data" / "templates.csv"
        if path.is_file():
            return path
    return None


def _new_emulator() -> Emulator:
    return Emulator(default_templates_path(), seed=SEED)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator on loopback for one test."""
    with _new_emulator() as emu:
        yield emu


@pytest.fixture
def emulator_client(emulator: Emulator) -> Any:
    """A client wired to the test's ``emulator``."""
    return emulator.client()


@pytest.fixture(scope="session")
def _emulator_session_server() -> Iterator[Emulator]:
    with _new_emulator() as emu:
        yield emu


@pytest.fixture
def emulator_session(_emulator_session_server: Emulator) -> Emulator:
    """The session's shared emulator, reset (records, nonces, queued faults) for this test."""
    _emulator_session_server.wait_for_reports(timeout=5)
    _emulator_session_server.reset()
    return _emulator_session_server
