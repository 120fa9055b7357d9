"""Pushed text cannot become a link or an image in the Markdown report (issue 11)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_markdown_escapes_link_and_image_syntax(tmp_path: Path) -> None:
    log = tmp_path / "cb.log"
    log.write_text(
        "smsMsgId=m_1&status=UNDELIV&extend=%5Bclick%5D(http://evil)\n"
        "smsMsgId=m_2&status=DELIVRD&extend=!%5Bx%5D(http://evil/i.png)\n"
        "smsMsgId=m_3&status=UNDELIV&extend=%5C%5Bx%5C%5D(y)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "smskit", "report", str(log), "--out", str(tmp_path / "out"), "--by", "extend"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    body = markdown.split("## Figures")[0]
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", body)  # no [text](url) left unescaped
    assert r"\[click\]\(http://evil\)" in body
    assert r"\!\[x\]\(http://evil/i.png\)" in body
    assert r"\\\[x\\\]\(y\)" in body  # a user's own backslash cannot undo the escape
