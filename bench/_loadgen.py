"""A light HTTP/1.1 load generator for bench/reports.py, run in its own process.

``requests`` costs about a millisecond of CPU per call, which on a 2-core machine makes the load
generator, not the server, the bottleneck. This one keeps ``--connections`` raw keep-alive
connections busy with asyncio streams, bounded in time and count, and writes what was acknowledged.

Usage: python bench/_loadgen.py URL BATCH SECONDS CONNECTIONS OUT.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlencode, urlsplit

MAX_REQUESTS_PER_CONNECTION = 200_000


def _body(ids: list[str]) -> tuple[bytes, str]:
    if len(ids) == 1:
        form = urlencode({"smsMsgId": ids[0], "status": "DELIVRD", "updateTime": "2026-06-24T08:00:00Z"})
        return form.encode(), "application/x-www-form-urlencoded"
    items = [{"smsMsgId": i, "status": "DELIVRD", "updateTime": "2026-06-24T08:00:00Z"} for i in ids]
    return json.dumps({"statusReportList": items}).encode(), "application/json"


async def _connection(c: int, url: str, batch: int, stop_at: float, acked: list[str], lat: list[float]) -> int:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    errors = 0
    try:
        for n in range(MAX_REQUESTS_PER_CONNECTION):
            if time.monotonic() > stop_at:
                break
            ids = [f"c{c}-{n}-{k}" for k in range(batch)]
            body, ctype = _body(ids)
            head = (
                f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            if status_line.split()[1:2] == [b"200"]:
                acked.extend(ids)
            else:
                errors += 1
    finally:
        writer.close()
    return errors


async def _main(url: str, batch: int, seconds: float, connections: int) -> dict[str, object]:
    acked: list[str] = []
    lat: list[float] = []
    stop_at = time.monotonic() + seconds
    t0 = time.perf_counter()
    errors = await asyncio.gather(*(_connection(c, url, batch, stop_at, acked, lat) for c in range(connections)))
    return {"elapsed": time.perf_counter() - t0, "acked": acked, "latencies": lat, "errors": sum(errors)}


if __name__ == "__main__":
    url, batch, seconds, connections, out = sys.argv[1:6]
    result = asyncio.run(_main(url, int(batch), float(seconds), int(connections)))
    with open(out, "w") as fh:
        json.dump(result, fh)
