"""Every sub-command as a subprocess: user mistakes are one line and exit 2, never a traceback (issue 12);
`smskit emulator` prints everything a client needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"


def smskit(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smskit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["receive", "--store", "/no/such/dir/x.sqlite"], "/no/such/dir/x.sqlite"),
        (["emulator", "--port", "80000"], "'80000' is not a port"),
        (["receive", "--port", "-1"], "'-1' is not a port"),
        (["emulator", "--templates", "nosuch.csv"], "nosuch.csv"),
        (["report", str(DATA / "callbacks.log"), "--by", "nonexistent"], "'nonexistent'"),
        (["report", str(DATA / "callbacks.log"), "--campaign", "nope"], "'nope'"),
        (["report", "no-such-file.log"], "no-such-file.log"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(args, named, tmp_path) -> None:
    proc = smskit(*args, "--out", str(tmp_path / "out")) if args[0] == "report" else smskit(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert named in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if not line.startswith(("usage:", " "))]
    assert len(lines) == 1, proc.stderr


def test_report_by_names_the_valid_columns(tmp_path) -> None:
    proc = smskit("report", str(DATA / "callbacks.log"), "--by", "nonexistent", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "use one of:" in proc.stderr
    assert "country" in proc.stderr.split("use one of:")[1]


def test_emulator_prints_everything_a_client_needs(tmp_path) -> None:
    """The printed lines, exported, are enough for `smskit send` to the emulator."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "smskit", "emulator", "--templates", str(DATA / "templates.csv")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(4)]
        env = dict(line.split("=", 1) for line in lines)
        assert sorted(env) == ["SMSKIT_APP_KEY", "SMSKIT_APP_SECRET", "SMSKIT_BASE_URL", "SMSKIT_SENDER"]
        recipients = tmp_path / "r.csv"
        pd.DataFrame({"phone": ["+6591000001", "+6591000002"], "code": ["123456", "654321"]}).to_csv(
            recipients, index=False
        )
        sent = smskit("send", str(recipients), "--template-id", VERIFY, "--params", "code", "--no-progress", env=env)
        assert sent.returncode == 0, sent.stderr
        assert "results: accepted 2" in sent.stdout
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "accepts any sender" in err
    assert "Traceback" not in err
