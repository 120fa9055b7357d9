"""Benchmark: the emulator's cost per request against a bare ASGI app on the same loopback server.

Baseline: a bare ASGI app answering ``{}`` on :class:`smskit._server.BackgroundServer` (which sets
TCP_NODELAY on its listening socket).
Measured: signed 1-number and 500-number ``batchSendSms`` requests to the emulator (catalog from
``data/templates.csv``), one keep-alive session. Prints requests/s, numbers/s and the ratios.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests

from smskit._server import BackgroundServer
from smskit.auth import aksk_headers
from smskit.emulator import Emulator

TEMPLATE = "bfccfa780ff5e8f11245b2dfbc82efae"
FORM = "application/x-www-form-urlencoded"


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await _answer(receive, send)


async def _answer(receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def body_for(n: int) -> bytes:
    to = ",".join(f"+6591{i:06d}" for i in range(n))
    return urlencode({"from": "isms1", "to": to, "templateId": TEMPLATE, "templateParas": '["123456"]'}).encode()


def rate(session: requests.Session, url: str, body: bytes, requests_n: int, sign: Any) -> float:
    started = time.perf_counter()
    for _ in range(requests_n):
        response = session.post(url, data=body, headers=sign(url, body), timeout=30)
        response.raise_for_status()
    return requests_n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    session = requests.Session()
    with (
        Emulator("data/templates.csv", seed=1) as emu,
        BackgroundServer(bare_app) as bare,
    ):

        def sign(url: str, body: bytes) -> dict[str, str]:
            return aksk_headers(
                "POST", url, body, key=emu.app_key, secret=emu.app_secret, content_type=FORM, now=datetime.now(UTC)
            )

        url = emu.base_url + "/sms/batchSendSms/v1"
        assert json.loads(session.post(url, data=body_for(1), headers=sign(url, body_for(1))).text)["code"] == "000000"
        baseline = rate(session, bare.url + "/x", body_for(1), args.requests, sign)
        one = rate(session, url, body_for(1), args.requests, sign)
        many = rate(session, url, body_for(500), max(20, args.requests // 10), sign)
    print(f"bare ASGI app               : {baseline:8.0f} requests/s (baseline)")
    print(f"emulator, 1 number          : {one:8.0f} requests/s  ratio {one / baseline:.2f}")
    print(f"emulator, 500 numbers       : {many:8.0f} requests/s = {many * 500:,.0f} numbers/s")


if __name__ == "__main__":
    main()
