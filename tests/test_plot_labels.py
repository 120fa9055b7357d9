"""User text reaches plot labels as text, never as mathtext (issue 11): one helper, plots.escape_mathtext."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.text import Text

from smskit import plots

EVIL = r"$\undefinedmacro$"


@pytest.fixture
def funnel() -> pd.DataFrame:
    n = 40
    return pd.DataFrame(
        {
            "to": ["+8615512345678"] * n,
            "state": ["accepted"] * n,
            "final_status": [EVIL, "DELIVRD", "x$y$", "$"] * 10,
            "delivered": [False, True, False, False] * 10,
            "sent_at": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "latency_s": [float(k) for k in range(1, n + 1)],
            EVIL: [EVIL, "b$c$"] * 20,
        }
    )


def _unescaped_dollars(ax) -> list[str]:
    texts = [t.get_text() for t in ax.figure.findobj(Text)]
    return [t for t in texts if re.search(r"(?<!\\)\$", t)]


@pytest.mark.parametrize(
    ("draw", "shown"),
    [
        (lambda f: plots.delivery_rate(f, by=EVIL), EVIL),
        (lambda f: plots.delivery_over_time(f, by=EVIL, on="sent_at"), EVIL),
        (lambda f: plots.delivery_over_time(f.rename(columns={"sent_at": "$sent$"}), on="$sent$"), "$sent$"),
        (lambda f: plots.failure_reasons(f), EVIL),
        (lambda f: plots.latency(f, by=EVIL), EVIL),
    ],
    ids=["delivery_rate", "over_time_by", "over_time_on", "failure_reasons", "latency"],
)
def test_every_label_is_escaped_and_the_figure_renders(funnel: pd.DataFrame, draw, shown: str) -> None:
    ax = draw(funnel)
    ax.figure.savefig(io.BytesIO(), format="png")  # mathtext would raise ValueError here
    assert _unescaped_dollars(ax) == []
    assert any(plots.escape_mathtext(shown) in t.get_text() for t in ax.figure.findobj(Text))


def test_smskit_report_survives_mathtext_in_pushed_text(tmp_path: Path) -> None:
    log = tmp_path / "cb.log"
    log.write_text("smsMsgId=m_1&status=%24%5Cundefinedmacro%24\nsmsMsgId=m_2&status=DELIVRD\n")
    done = subprocess.run(
        [sys.executable, "-m", "smskit", "report", str(log), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "failure_reasons.png").stat().st_size > 0
