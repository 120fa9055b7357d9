"""``smskit receive``: its token and push keys resolve like the client's settings (env, files, .env)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

from smskit.auth import aksk_headers

FORM = "application/x-www-form-urlencoded"
BODY = b"smsMsgId=cli_1&status=DELIVRD"


def _start(
    cwd: Path, env: dict[str, str], *args: str, prefix: str = "SMSKIT_STATUS_CALLBACK=http://127.0.0.1:"
) -> tuple[subprocess.Popen[str], str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMSKIT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smskit", "receive", "--store", str(cwd / "r.sqlite"), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**clean, **env, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith(prefix), line
    return proc, line.split("=", 1)[1]


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    assert proc.wait(20) == 0
    proc.stdout.close()  # type: ignore[union-attr]


def _post(url: str, key: str | None = None, secret: str | None = None) -> int:
    headers = {"Content-Type": FORM}
    if key is not None and secret is not None:
        headers = aksk_headers("POST", url, BODY, key=key, secret=secret, content_type=FORM, now=datetime.now(UTC))
    return requests.post(url, data=BODY, headers=headers, timeout=10).status_code


def test_token_from_dotenv_and_two_push_pairs_from_a_keys_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SMSKIT_RECEIVER_TOKEN=tok-in-dotenv\n")
    keys = tmp_path / "push-keys"
    keys.write_text("old-ak old-secret\nnew-ak new-secret\n")
    proc, url = _start(tmp_path, {"SMSKIT_PUSH_KEYS_FILE": str(keys)})
    try:
        assert url.endswith("/reports/tok-in-dotenv")
        assert _post(url) == 401
        assert _post(url, "old-ak", "wrong") == 401
        assert _post(url, "old-ak", "old-secret") == 200  # both pairs of a rotation are accepted
        assert _post(url, "new-ak", "new-secret") == 200
    finally:
        _stop(proc)


def test_environment_beats_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SMSKIT_RECEIVER_TOKEN=tok-in-dotenv\nSMSKIT_PUSH_AK=a\nSMSKIT_PUSH_SK=b\n")
    token = tmp_path / "token"
    token.write_text("tok-in-file\n")
    proc, url = _start(
        tmp_path, {"SMSKIT_RECEIVER_TOKEN_FILE": str(token), "SMSKIT_PUSH_AK": "env-ak", "SMSKIT_PUSH_SK": "s"}
    )
    try:
        assert url.endswith("/reports/tok-in-file")
        assert _post(url, "a", "b") == 401
        assert _post(url, "env-ak", "s") == 200
    finally:
        _stop(proc)


def test_secrets_are_refused_on_the_command_line(tmp_path: Path) -> None:
    """Issue 11: --token and --push-sk on argv show in ps; only files, the environment and .env are read."""
    for option in (["--token", "s3cr3t-tok"], ["--push-sk", "s3cr3t-sk"], ["--push-ak", "pub-ak-1"]):
        done = subprocess.run(
            [sys.executable, "-m", "smskit", "receive", "--store", str(tmp_path / "r.sqlite"), *option],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert f"{option[0]} is not accepted" in done.stderr
        assert option[1] not in done.stderr  # the value is not echoed


def test_public_url_behind_a_reverse_proxy(tmp_path: Path) -> None:
    """docs/DEPLOY.md: the printed statusCallback is the address the proxy serves."""
    token = tmp_path / "token"
    token.write_text("tok-1\n")
    prefix = "SMSKIT_STATUS_CALLBACK=https://reports.example.com/reports/tok-1"
    proc, url = _start(
        tmp_path, {}, "--token-file", str(token), "--public-url", "https://reports.example.com/", prefix=prefix
    )
    _stop(proc)
    assert url == "https://reports.example.com/reports/tok-1"
