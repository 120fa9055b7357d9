"""The warehouse against the pandas path on 20,000,000 status reports and their send results.

Generates a synthetic year-of-campaigns slice (multi-segment messages, ACCEPTD before finals,
platform-made EXPIRED without a time, retried pushes, rejected and unknown sends), archives it with
``Warehouse.add`` (timed: the ingest rate), then measures in separate subprocesses, each with its own
peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``):

* warehouse: ``Warehouse(dir).delivery_rate(by=["template_id", "day"])`` on DuckDB;
* pandas: ``pd.read_parquet`` of the raw reports and results, ``read_status_reports`` +
  ``delivery_funnel`` + ``analytics.delivery_rate(by=["template_id", "day"])``, on as many rows as
  ``--pandas-reports`` allows (all of them by default);
* Spark (local[2]): the same ``delivery_rate`` with ``engine="spark"`` (``--skip-spark`` leaves it out).

Both paths must give the same table on the rows they share; the ratio is printed.

    .venv/bin/python bench/warehouse.py [--reports 20000000] [--pandas-reports N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHUNK = 2_000_000  # results per add() batch
BY = ["template_id", "day"]


def generate(n_results: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_results`` send results and about 1.8 reports per result, vectorized."""
    rng = np.random.default_rng(seed)
    i = np.arange(n_results)
    campaign = (i * 10) // n_results  # ten campaigns, one after the other
    request = i // 500
    origin = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    sent_us = origin + campaign * 30 * 86_400_000_000 + rng.integers(0, 30 * 86_400_000_000, n_results)
    # per number: rejected 4 %; per request (a call that timed out): unknown for 3 % of requests
    lost = rng.random(request.max() + 1) < 0.03
    state = np.where(lost[request], "unknown", np.where(rng.random(n_results) < 0.04, "rejected", "accepted"))
    ids = pd.Series(i).astype(str)
    msg = "m" + ids
    to = "+86138" + ids.str.zfill(8)
    extend = ("c" + pd.Series(campaign).astype(str)) + ":" + pd.Series(request).astype(str)
    none = np.full(n_results, None, dtype=object)
    columns = {
        "to": to.to_numpy(),
        "template_id": np.char.add("T", rng.integers(0, 20, n_results).astype(str)),
        "variant": np.where(rng.random(n_results) < 0.5, "A", "B"),
        "state": state,
        "sms_msg_id": np.where(state == "accepted", msg.to_numpy(), none),
        "status": np.where(state == "accepted", "000000", np.where(state == "rejected", "E200028", none)),
        "error": np.where(state == "rejected", "refused", none),
        "extend": extend.to_numpy(),
    }
    results = pd.DataFrame(
        {name: pd.array(values, dtype="str") for name, values in columns.items()},
        index=pd.Index(ids.to_numpy(), name="user_id"),
    )
    results["sent_at"] = pd.to_datetime(sent_us, unit="us", utc=True)
    results["request_no"] = request
    reached = (state == "accepted") | ((state == "unknown") & (rng.random(n_results) < 0.7))
    m = np.flatnonzero(reached)
    total = rng.choice([1, 1, 1, 1, 2, 2, 3], len(m))
    seg_msg = np.repeat(m, total)  # one row per segment
    seg_total = np.repeat(total, total)
    seg_no = np.arange(len(seg_msg)) - np.repeat(np.cumsum(total) - total, total) + 1
    k = len(seg_msg)
    delay_us = (rng.exponential(30.0, k) * 1_000_000).astype(np.int64) + 200_000
    outcome = rng.choice(["DELIVRD", "UNDELIV", "EXPIRED", "MK:0001", "MBBLACK"], k, p=[0.86, 0.06, 0.04, 0.02, 0.02])
    final_time = np.where(outcome == "EXPIRED", -1, sent_us[seg_msg] + delay_us)  # platform-made: no time
    accepted_first = rng.random(k) < 0.3
    dup = rng.random(k) < 0.05  # retried pushes
    pick = np.concatenate([np.arange(k), np.flatnonzero(accepted_first), np.flatnonzero(dup)])
    status = np.concatenate([outcome, np.full(accepted_first.sum(), "ACCEPTD"), outcome[dup]])
    when = np.concatenate([final_time, (sent_us[seg_msg] + delay_us // 2)[accepted_first], final_time[dup]])
    order = rng.permutation(len(pick))  # arrival order is not time order
    pick, status, when = pick[order], status[order], when[order]
    rm = seg_msg[pick]
    times = pd.Series(pd.to_datetime(np.where(when < 0, 0, when), unit="us", utc=True))
    update_time = times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(when >= 0)
    reports = pd.DataFrame(
        {
            "sms_msg_id": msg.to_numpy()[rm],
            "status": status,
            "update_time": update_time.to_numpy(),
            "total": seg_total[pick],
            "sequence": seg_no[pick],
            "extend": extend.to_numpy()[rm],
            "to": to.to_numpy()[rm],
        }
    )
    return results, reports


def build(root: Path, n_reports: int) -> dict[str, float]:
    """Generate the data (raw Parquet for the pandas path) and archive it into ``root/wh``."""
    import smskit

    n_results = int(n_reports / 1.8)
    t0 = time.perf_counter()
    results, reports = generate(n_results)
    generated = time.perf_counter() - t0
    results.to_parquet(root / "results.parquet")
    reports.to_parquet(root / "reports.parquet")
    t0 = time.perf_counter()
    with smskit.Warehouse(root / "wh") as wh:
        wh.add(results, kind="results")
        done = 0
        for start in range(0, len(reports), CHUNK):
            done += wh.add(reports.iloc[start : start + CHUNK], kind="reports")
    archived = time.perf_counter() - t0
    info = {"results": len(results), "reports": len(reports), "stored_reports": done}
    print(f"generated {len(results):,} results and {len(reports):,} reports in {generated:.1f} s")
    print(f"archived in {archived:.1f} s ({len(reports) / archived:,.0f} reports/s incl. results)")
    (root / "info.json").write_text(json.dumps(info))
    return {"archive_s": archived, **info}


_WAREHOUSE = """
import json, resource, sys, time
import smskit
t = time.perf_counter()
with smskit.Warehouse(sys.argv[1], engine=sys.argv[2], spark=None if sys.argv[2] == "duckdb" else __import__(
        "pyspark.sql", fromlist=["SparkSession"]).SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "6g").config("spark.sql.shuffle.partitions", "16").getOrCreate(),
        memory_limit=sys.argv[3] or None) as wh:
    start = time.perf_counter()
    table = wh.delivery_rate(by=["template_id", "day"])
    seconds = time.perf_counter() - start
table.to_pickle(sys.argv[4])
print(json.dumps({"seconds": seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "groups": len(table), "sent": int(table["sent"].sum())}))
"""

_PANDAS = """
import json, resource, sys, time
import pandas as pd
import smskit
from smskit import analytics
limit = int(sys.argv[2])
start = time.perf_counter()
raw = pd.read_parquet(sys.argv[1] + "/reports.parquet")
results = pd.read_parquet(sys.argv[1] + "/results.parquet")
if limit < len(raw):  # the first results and every report of their messages
    keep = results.iloc[: int(len(results) * limit / len(raw))]
    raw = raw[raw["extend"].isin(set(keep["extend"].unique())) | raw["sms_msg_id"].isin(set(keep["sms_msg_id"].dropna()))]
    results = keep
reports = smskit.read_status_reports(raw)
funnel = smskit.delivery_funnel(results, reports)
table = analytics.delivery_rate(funnel, by=["template_id", "day"])
seconds = time.perf_counter() - start
table.to_pickle(sys.argv[3])
print(json.dumps({"seconds": seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "reports": len(raw), "results": len(results), "groups": len(table)}))
"""


def run(code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=20_000_000)
    parser.add_argument("--pandas-reports", type=int, default=None, help="rows for the pandas path (default all)")
    parser.add_argument("--dir", default=None, help="keep the data here (reused when it has the same size)")
    parser.add_argument("--memory-limit", default="512MB", help="DuckDB memory_limit for the warehouse query")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)  # the data step, in its own process
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="smskit-bench-wh-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.build:
        build(root, args.reports)
        return
    info_path = root / "info.json"
    if info_path.exists() and int(json.loads(info_path.read_text())["results"]) == int(args.reports / 1.8):
        print(f"reusing the data in {root}")
    else:  # built in a child: this process stays small, so the measuring children start small too
        subprocess.run(
            [sys.executable, __file__, "--build", "--reports", str(args.reports), "--dir", str(root)], check=True
        )
    info = json.loads(info_path.read_text())
    n_pandas = args.pandas_reports or int(info["reports"])

    wh = run(_WAREHOUSE, str(root / "wh"), "duckdb", args.memory_limit, str(root / "wh.pkl"))
    print(
        f"warehouse (DuckDB, memory_limit {args.memory_limit}): delivery_rate(by={BY}) on {info['reports']:,} reports: "
        f"{wh['seconds']:.2f} s, peak RSS {wh['maxrss_mb']:.0f} MB, {wh['groups']} groups"
    )
    pdp = run(_PANDAS, str(root), str(n_pandas), str(root / "pd.pkl"))
    print(
        f"pandas path on {pdp['reports']:,} reports / {pdp['results']:,} results: {pdp['seconds']:.2f} s, "
        f"peak RSS {pdp['maxrss_mb']:.0f} MB"
    )
    if pdp["reports"] == info["reports"]:
        got, want = pd.read_pickle(root / "wh.pkl"), pd.read_pickle(root / "pd.pkl")  # noqa: S301 - our own files
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False)
        print("same table from both paths")
        print(
            f"ratio: warehouse {pdp['seconds'] / wh['seconds']:.1f}x faster, "
            f"{pdp['maxrss_mb'] / wh['maxrss_mb']:.1f}x less peak memory"
        )
    else:
        print(f"ratio (per report): {pdp['seconds'] / pdp['reports'] / (wh['seconds'] / info['reports']):.1f}x")
    if not args.skip_spark:
        sp = run(_WAREHOUSE, str(root / "wh"), "spark", "", str(root / "spark.pkl"))
        print(f"Spark local[2]: {sp['seconds']:.1f} s (driver 6g)")
        same = pd.read_pickle(root / "spark.pkl").equals(pd.read_pickle(root / "wh.pkl"))  # noqa: S301
        print(f"Spark table equals DuckDB's: {same}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    main()
