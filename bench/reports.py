"""Status-report benchmarks, each against a baseline measured in the same run.

1. Ingest N callback lines (default 1,000,000) with ``read_status_reports`` vs a ``urllib.parse.parse_qs``
   loop (targets: ≤ 2 s, ≥ 5×).
2. A console export CSV with ``read_status_reports`` vs bare ``pd.read_csv`` (target ≤ 1.5×).
3. Receiver throughput: ``python -m smskit receive`` in a subprocess, a bounded load generator on
   loopback in another (bench/_loadgen.py: asyncio keep-alive connections), single-report form pushes
   and 50-report JSON batches; reports/s committed, p50/p99 latency, and lost = acknowledged but not
   in the store.

Usage: ``python bench/reports.py [--lines 1000000] [--export-rows 200000] [--seconds 10] [--connections 32]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd

from smskit.reports.ingest import DEFAULT_EXPORT_MAPPING, read_status_reports
from smskit.reports.store import read_store_frame


def _lines(n: int) -> list[str]:
    out = []
    for i in range(n):
        fields = {
            "sequence": "1",
            "total": "1",
            "updateTime": f"2026-06-24T08:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            "source": "2",
            "smsMsgId": f"2ea20735-f856-4376-afbf-{i:012d}_{11840135 + i}",
            "status": "DELIVRD" if i % 10 else "UNDELIV",
            "extend": f"bench:{i // 500}",
            "to": f"+86138{i:08d}",
        }
        if i % 10 == 0:
            fields = {"orgCode": "E200027", **fields}
        out.append(urlencode(fields))
    return out


def _best(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_lines(tmp: Path, n: int) -> None:
    lines = _lines(n)
    path = tmp / "callbacks.log"
    path.write_text("\n".join(lines) + "\n")

    def baseline() -> None:
        text = path.read_text()
        [parse_qs(line) for line in text.splitlines()]

    def ours() -> None:
        frame = read_status_reports(path)
        assert len(frame) == n

    t_base, t_ours = _best(baseline, 1), _best(ours)
    print(
        f"callback lines  n={n:>9,}  parse_qs loop {t_base:6.2f} s  read_status_reports {t_ours:6.2f} s  "
        f"speed-up {t_base / t_ours:4.1f}x  (targets ≤ 2 s, ≥ 5x)"
    )


def bench_export(tmp: Path, n: int) -> None:
    rng = np.random.default_rng(1)
    names = list(DEFAULT_EXPORT_MAPPING)
    frame = pd.DataFrame(
        {
            "SMS ID": [f"6fefa98a-d8c1-468a-91b6-{i:012d}_{55903181 + i}" for i in range(n)],
            "Recipient Number": [f"+86138{i:08d}" for i in range(n)],
            "Status Code": rng.choice(["DELIVRD", "UNDELIV", "EXPIRED", "RTE_ERR"], n, p=[0.9, 0.04, 0.03, 0.03]),
            "Status Description": "",
            "Status Update Time (UTC)": pd.Timestamp("2026-06-24 08:00:00")
            + pd.to_timedelta(rng.integers(0, 3600, n), unit="s"),
            "Total Segments": 1,
            "Segment No.": 1,
            "Carrier Code": "",
            "Report Source": "2",
            "Extend": "bench:1",
            "Template ID": "e3faa0f3a12a900eb1028eceda8d44ac",
        }
    )
    assert set(names) <= set(frame.columns)
    path = tmp / "export.csv"
    frame.to_csv(path, index=False)
    t_base = _best(lambda: pd.read_csv(path))
    t_ours = _best(lambda: read_status_reports(path))
    print(
        f"console export  n={n:>9,}  pd.read_csv {t_base:6.2f} s  read_status_reports {t_ours:6.2f} s  "
        f"ratio {t_ours / t_base:4.2f}x  (target ≤ 1.5x)"
    )


def bench_receiver(tmp: Path, seconds: float, connections: int, batch: int) -> None:
    """The receiver in one process, bench/_loadgen.py (asyncio, keep-alive) in another."""
    store = tmp / f"bench-{batch}.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smskit", "receive", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip().split("=", 1)[1]
    out = tmp / f"load-{batch}.json"
    loadgen = Path(__file__).with_name("_loadgen.py")
    subprocess.run(
        [sys.executable, str(loadgen), url, str(batch), str(seconds), str(connections), str(out)],
        check=True,
        timeout=seconds + 120,
    )
    proc.terminate()
    proc.wait(30)
    proc.stdout.close()
    result = json.loads(out.read_text())
    elapsed = result["elapsed"]
    sent = set(result["acked"])
    stored = set(read_store_frame(store)["sms_msg_id"])
    lat = np.array(result["latencies"]) * 1000
    kind = "form push (1 report)" if batch == 1 else f"JSON batch ({batch} reports)"
    print(
        f"receiver {kind:<24} {len(sent) / elapsed:8,.0f} reports/s committed  {len(lat) / elapsed:6,.0f} pushes/s  "
        f"p50 {np.percentile(lat, 50):5.1f} ms  p99 {np.percentile(lat, 99):5.1f} ms  errors {result['errors']}  "
        f"lost {len(sent - stored)}  ({connections} connections; targets ≥ 3,000 reports/s, p99 < 50 ms, 0 lost)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--export-rows", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_lines(Path(tmp), args.lines)
        bench_export(Path(tmp), args.export_rows)
        bench_receiver(Path(tmp), args.seconds, args.connections, 1)
        bench_receiver(Path(tmp), args.seconds, args.connections, 50)


if __name__ == "__main__":
    main()
