"""Benchmark: Client.send in 500-number calls on one pooled session vs the guide's style.

Baseline (the seed's examples): one request per recipient, a new connection each time, signed
per request. Both run against the embedded emulator on loopback in the same process run.
Prints recipients/second for both and the ratio.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import requests

from smskit import Emulator
from smskit.auth import aksk_headers

TEMPLATE = "bfccfa780ff5e8f11245b2dfbc82efae"


def numbers(n: int, offset: int = 0) -> list[str]:
    return [f"+6591{(offset + i) % 1_000_000:06d}" for i in range(n)]


def bench_pooled(emu: Emulator, n: int) -> float:
    client = emu.client()
    to = numbers(n)
    started = time.perf_counter()
    for i in range(0, n, 500):
        client.send(to[i : i + 500], TEMPLATE, ["123456"]).raise_for_status()
    return n / (time.perf_counter() - started)


def seed_style_send(base_url: str, app_key: str, app_secret: str, sender: str, to: list[str]) -> None:
    """The guide's loop: one signed request per recipient, each on a new connection."""
    url = base_url + "/sms/batchSendSms/v1"
    for number in to:
        body = urlencode({"from": sender, "to": number, "templateId": TEMPLATE, "templateParas": '["123456"]'}).encode()
        headers = aksk_headers(
            "POST",
            url,
            body,
            key=app_key,
            secret=app_secret,
            content_type="application/x-www-form-urlencoded",
            now=datetime.now(UTC),
        )
        headers["Connection"] = "close"
        requests.post(url, data=body, headers=headers, timeout=30).raise_for_status()


def bench_seed_style(emu: Emulator, n: int) -> float:
    started = time.perf_counter()
    seed_style_send(emu.base_url, emu.app_key, emu.app_secret, emu.sender, numbers(n, offset=500_000))
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    args = parser.parse_args()
    with Emulator(delivery_rate=1.0, seed=1) as emu:
        pooled = bench_pooled(emu, args.recipients)
        seed = bench_seed_style(emu, args.baseline)
    print(f"send(): {args.recipients:,} recipients in 500-number calls, one pooled session: {pooled:,.0f} recipients/s")
    print(f"seed style: {args.baseline:,} recipients, one request + new connection each: {seed:,.0f} recipients/s")
    print(f"ratio: {pooled / seed:,.1f}x")


if __name__ == "__main__":
    main()
